/* test-bad-input.c: hostile input from any D-Bus client gets a clear
 * error, and the main process keeps serving
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The EipcMain lives in this thread, on the default main context. It is
 * driven two ways:
 *
 *  - raw sd-bus clients, which build any message (wrong signatures,
 *    wrong paths, broadcasts); their blocking calls run in a worker
 *    thread while this thread iterates the main context;
 *  - busctl, as a subprocess, the way a user pokes at a running app.
 *
 * Method calls must get a D-Bus error that names the problem; signals
 * (which cannot be answered) must be dropped and reported through
 * EipcMain::message-rejected. After every hostile case, a good invoke
 * and a good send still work.
 */

#include <errno.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "test-common.h"

#define BASE            "/org/eipc/Test"
#define MAIN_IFACE      "org.eipc.Main1"
#define RENDERER_IFACE  "org.eipc.Renderer1"
#define PROPS_IFACE     "org.freedesktop.DBus.Properties"
#define PEER_IFACE      "org.freedesktop.DBus.Peer"

#define ERR_INVALID_ARGS    "org.eipc.Error.InvalidArgs"
#define ERR_NOT_ATTACHED    "org.eipc.Error.NotAttached"
#define DBUS_INVALID_ARGS   "org.freedesktop.DBus.Error.InvalidArgs"

/* dbus-daemon's built-in max_message_size (bus/config-parser.c): GTestDBus
 * writes a configuration without <limit>s, so this one applies here.
 * (session.conf raises it to 1e9, the protocol caps it at 128 MiB.) */
#define BUS_MAX_MESSAGE_SIZE  (32 * 1024 * 1024)
/* A big payload that still fits comfortably: large enough to cross many
 * socket buffers and sd-bus reads, small enough for valgrind. */
#define BIG_PAYLOAD_SIZE      (8 * 1024 * 1024)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_message, sd_bus_message_unref)

/* A raw sd-bus client. Its bus is used by one thread at a time: built in
 * the test's thread, used by a worker thread for each blocking step. */
typedef struct {
  sd_bus  *bus;
  char    *unique_name;
  char    *path;         /* where it may emit from: BASE, or its own
                          * BASE/WebContents/ID once attached */
  guint64  id;           /* its webContentsId, 0 until it attaches */
} Raw;

typedef enum {
  JOB_HELLO,
  JOB_CALL,
  JOB_SEND,
} JobKind;

typedef struct {
  JobKind          kind;
  Raw             *raw;
  sd_bus_message  *m;
  const char      *destination;  /* JOB_SEND: NULL broadcasts */
  sd_bus_message  *reply;
  sd_bus_error     error;
  int              r;
  gboolean         done;
} RawJob;

typedef struct {
  char    *sender;
  GError  *error;
} Rejection;

typedef struct {
  EipcMain  *main;
  Raw       *good;          /* a well-behaved client for the health checks */
  GPtrArray *extra;         /* more Raw clients, freed at teardown */
  GPtrArray *rejected;      /* Rejection, from message-rejected */
  gboolean   rejected_flag; /* set by every rejection */
  GPtrArray *logged;        /* args JSON of every "log" message */
  gboolean   logged_flag;   /* set by every "log" message */
  guint64    log_sender;    /* sender id of the last "log" message */
  guint      ping_count;
  char      *ping_args;     /* args JSON of the last ping */
  guint      ping_args_len; /* json-glib's view of it */
  guint      alive;         /* counter for the health checks */
} Fixture;

/* --- raw sd-bus clients ------------------------------------------------ */

static gboolean
raw_job_done (gpointer user_data)
{
  RawJob *job = user_data;

  job->done = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
raw_job_thread (gpointer user_data)
{
  RawJob *job = user_data;
  sd_bus *bus = job->raw->bus;

  switch (job->kind)
    {
    case JOB_HELLO:
      {
        const char *name = NULL;

        /* Waits for the bus's answer to Hello. */
        job->r = sd_bus_get_unique_name (bus, &name);
        if (job->r >= 0)
          job->raw->unique_name = g_strdup (name);
      }
      break;
    case JOB_CALL:
      /* Generous: under valgrind, a main process reading 32 MiB (which
       * dbus-broker delivers) takes longer than 30 s. */
      job->r = sd_bus_call (bus, job->m, 300 * G_USEC_PER_SEC, &job->error,
                            &job->reply);
      break;
    case JOB_SEND:
      job->r = sd_bus_send_to (bus, job->m, job->destination, NULL);
      if (job->r >= 0)
        job->r = sd_bus_flush (bus);
      break;
    default:
      g_assert_not_reached ();
    }
  g_idle_add (raw_job_done, job);
  return NULL;
}

/* Runs one blocking step of @job->raw in a worker thread while this
 * thread iterates the default main context, where the main process
 * lives: a blocking sd_bus_call() here would deadlock. */
static void
raw_job_run (RawJob *job)
{
  GThread *thread = g_thread_new ("raw-client", raw_job_thread, job);

  test_wait_for (&job->done, 60000);
  g_thread_join (thread);
}

static void
raw_job_clear (RawJob *job)
{
  g_clear_pointer (&job->m, sd_bus_message_unref);
  g_clear_pointer (&job->reply, sd_bus_message_unref);
  sd_bus_error_free (&job->error);
}

static Raw *
raw_new (void)
{
  Raw *raw = g_new0 (Raw, 1);
  RawJob job = { JOB_HELLO, raw, };
  int r;

  r = sd_bus_new (&raw->bus);
  g_assert_cmpint (r, >=, 0);
  r = sd_bus_set_address (raw->bus, test_bus_address ());
  g_assert_cmpint (r, >=, 0);
  r = sd_bus_set_bus_client (raw->bus, 1);
  g_assert_cmpint (r, >=, 0);
  r = sd_bus_start (raw->bus);
  g_assert_cmpint (r, >=, 0);
  raw->path = g_strdup (BASE);

  raw_job_run (&job);
  g_assert_cmpint (job.r, >=, 0);
  g_assert_nonnull (raw->unique_name);
  return raw;
}

static void
raw_free (gpointer data)
{
  Raw *raw = data;

  sd_bus_flush_close_unref (raw->bus);
  g_free (raw->unique_name);
  g_free (raw->path);
  g_free (raw);
}

static Raw *
fixture_raw (Fixture *f)
{
  Raw *raw = raw_new ();

  g_ptr_array_add (f->extra, raw);
  return raw;
}

static sd_bus_message *
raw_method (Raw        *raw,
            const char *path,
            const char *interface,
            const char *member)
{
  sd_bus_message *m = NULL;
  int r;

  r = sd_bus_message_new_method_call (raw->bus, &m, TEST_APP_ID, path,
                                      interface, member);
  g_assert_cmpint (r, >=, 0);
  return m;
}

/* A Main1 method call with (ss). */
static sd_bus_message *
raw_ss (Raw        *raw,
        const char *member,
        const char *channel,
        const char *args)
{
  sd_bus_message *m = raw_method (raw, BASE, MAIN_IFACE, member);
  int r;

  r = sd_bus_message_append (m, "ss", channel, args);
  g_assert_cmpint (r, >=, 0);
  return m;
}

static sd_bus_message *
raw_signal (Raw        *raw,
            const char *path)
{
  sd_bus_message *m = NULL;
  int r;

  r = sd_bus_message_new_signal (raw->bus, &m, path, RENDERER_IFACE, "Message");
  g_assert_cmpint (r, >=, 0);
  return m;
}

/* A Renderer1.Message signal with (ss). */
static sd_bus_message *
raw_message (Raw        *raw,
             const char *path,
             const char *channel,
             const char *args)
{
  sd_bus_message *m = raw_signal (raw, path);
  int r;

  r = sd_bus_message_append (m, "ss", channel, args);
  g_assert_cmpint (r, >=, 0);
  return m;
}

/* Sends the call @m (transfer full) and waits for its answer. */
static void
raw_call (Raw            *raw,
          sd_bus_message *m,
          RawJob         *job)
{
  *job = (RawJob) { JOB_CALL, raw, m, };
  raw_job_run (job);
}

/* Sends the signal @m (transfer full) to @destination (NULL: broadcast). */
static void
raw_send (Raw            *raw,
          sd_bus_message *m,
          const char     *destination)
{
  RawJob job = { JOB_SEND, raw, m, destination, };

  raw_job_run (&job);
  g_assert_cmpint (job.r, >=, 0);
  raw_job_clear (&job);
}

/* A round trip to the main process: everything @raw sent before is
 * processed when it returns (one connection's messages arrive in order,
 * and the main process handles them in order). */
static void
raw_barrier (Raw *raw)
{
  RawJob job;

  raw_call (raw, raw_method (raw, BASE, PEER_IFACE, "Ping"), &job);
  g_assert_cmpint (job.r, >=, 0);
  raw_job_clear (&job);
}

/* Expects the call @m (transfer full) to fail with @name and @message. */
static void
expect_error (Raw            *raw,
              sd_bus_message *m,
              const char     *name,
              const char     *message)
{
  RawJob job;

  raw_call (raw, m, &job);
  if (job.r >= 0)
    g_error ("expected %s (%s), the call succeeded", name, message);
  g_assert_true (sd_bus_error_is_set (&job.error));
  g_test_message ("%s: %s", job.error.name, job.error.message);
  g_assert_cmpstr (job.error.name, ==, name);
  g_assert_cmpstr (job.error.message, ==, message);
  raw_job_clear (&job);
}

/* Expects the call @m (transfer full) to return the string @result. */
static void
expect_result (Raw            *raw,
               sd_bus_message *m,
               const char     *result)
{
  RawJob job;
  const char *text = NULL;
  int r;

  raw_call (raw, m, &job);
  if (job.r < 0)
    g_error ("expected %s, got %s: %s", result,
             job.error.name != NULL ? job.error.name : g_strerror (-job.r),
             job.error.message != NULL ? job.error.message : "");
  r = sd_bus_message_read (job.reply, "s", &text);
  g_assert_cmpint (r, >, 0);
  g_assert_cmpstr (text, ==, result);
  raw_job_clear (&job);
}

/* Attaches @raw with no options; it may then emit from its own path. */
static void
raw_attach (Raw *raw)
{
  sd_bus_message *m = raw_method (raw, BASE, MAIN_IFACE, "Attach");
  RawJob job;
  const char *path = NULL;
  int r;

  r = sd_bus_message_append (m, "a{sv}", 0);
  g_assert_cmpint (r, >=, 0);
  raw_call (raw, m, &job);
  g_assert_cmpint (job.r, >=, 0);
  r = sd_bus_message_read (job.reply, "to", &raw->id, &path);
  g_assert_cmpint (r, >, 0);
  g_assert_cmpuint (raw->id, !=, 0);
  g_free (raw->path);
  raw->path = g_strdup (path);
  raw_job_clear (&job);
}

/* --- the main process -------------------------------------------------- */

static void
rejection_free (gpointer data)
{
  Rejection *rejection = data;

  g_free (rejection->sender);
  g_error_free (rejection->error);
  g_free (rejection);
}

static void
on_message_rejected (EipcMain   *main,
                     const char *sender,
                     GError     *error,
                     gpointer    user_data)
{
  Fixture *f = user_data;
  Rejection *rejection = g_new0 (Rejection, 1);

  rejection->sender = g_strdup (sender);
  rejection->error = g_error_copy (error);
  g_ptr_array_add (f->rejected, rejection);
  f->rejected_flag = TRUE;
}

static void
handle_ping (EipcEvent *event,
             gpointer   user_data)
{
  Fixture *f = user_data;

  f->ping_count++;
  g_free (f->ping_args);
  f->ping_args = g_strdup (eipc_event_get_args_json (event));
  /* json-glib must cope with whatever the validator let through: a
   * refusal would be a g_warning, fatal in a test. */
  f->ping_args_len = json_array_get_length (eipc_event_get_args (event));
  g_assert_true (eipc_event_resolve_json (event, "\"pong\"", NULL));
}

static void
log_listener (EipcEvent *event,
              gpointer   user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->logged, g_strdup (eipc_event_get_args_json (event)));
  f->logged_flag = TRUE;
  f->log_sender = eipc_event_get_sender_id (event);
  eipc_event_get_args (event);
  if (eipc_event_get_kind (event) == EIPC_EVENT_SEND_SYNC)
    g_assert_true (eipc_event_set_return_value_json (event, "\"logged\"", NULL));
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->main = eipc_main_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (eipc_main_get_object_path (f->main), ==, BASE);
  g_signal_connect (f->main, "message-rejected",
                    G_CALLBACK (on_message_rejected), f);
  eipc_main_handle (f->main, "ping", handle_ping, f, NULL, &error);
  g_assert_no_error (error);
  eipc_main_on (f->main, "log", log_listener, f, NULL);

  f->rejected = g_ptr_array_new_with_free_func (rejection_free);
  f->logged = g_ptr_array_new_with_free_func (g_free);
  f->extra = g_ptr_array_new_with_free_func (raw_free);
  f->good = raw_new ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  raw_free (f->good);
  g_ptr_array_unref (f->extra);
  g_assert_finalize_object (f->main);
  g_ptr_array_unref (f->rejected);
  g_ptr_array_unref (f->logged);
  g_free (f->ping_args);
}

/* The main process still serves: a good send reaches the "log" listener
 * and a good invoke of "ping" answers "pong", and nothing was rejected
 * on the way. */
static void
assert_serving (Fixture *f)
{
  g_autofree char *args = g_strdup_printf ("[\"alive\",%u]", ++f->alive);
  guint rejected = f->rejected->len;
  guint logged = f->logged->len;

  raw_send (f->good, raw_message (f->good, f->good->path, "log", args),
            TEST_APP_ID);
  expect_result (f->good, raw_ss (f->good, "Invoke", "ping", "[]"), "\"pong\"");
  /* Same connection: the signal was handled before the call. */
  g_assert_cmpuint (f->logged->len, ==, logged + 1);
  g_assert_cmpstr (g_ptr_array_index (f->logged, logged), ==, args);
  g_assert_cmpuint (f->log_sender, ==, f->good->id);
  g_assert_cmpstr (f->ping_args, ==, "[]");
  expect_result (f->good, raw_ss (f->good, "SendSync", "log", "[\"sync\"]"),
                 "\"logged\"");
  g_assert_cmpuint (f->rejected->len, ==, rejected);
}

/* Invoke and SendSync of @channel/@args both fail with @name/@message,
 * no handler or listener runs, and the main process still serves. */
static void
expect_call_refused (Fixture    *f,
                     const char *channel,
                     const char *args,
                     const char *name,
                     const char *message)
{
  Raw *raw = f->good;
  guint pings = f->ping_count;
  guint logged = f->logged->len;

  expect_error (raw, raw_ss (raw, "Invoke", channel, args), name, message);
  expect_error (raw, raw_ss (raw, "SendSync", channel, args), name, message);
  g_assert_cmpuint (f->ping_count, ==, pings);
  g_assert_cmpuint (f->logged->len, ==, logged);
  assert_serving (f);
}

static void
expect_invalid_args (Fixture    *f,
                     const char *channel,
                     const char *args,
                     const char *message)
{
  expect_call_refused (f, channel, args, ERR_INVALID_ARGS, message);
}

/* Sends the signal @m (transfer full) from @raw to @destination and
 * expects the main process to drop it with @code/@message, reported
 * through message-rejected with @raw's unique name. */
static void
expect_rejected (Fixture        *f,
                 Raw            *raw,
                 sd_bus_message *m,
                 const char     *destination,
                 EipcError       code,
                 const char     *message)
{
  guint rejected = f->rejected->len;
  guint logged = f->logged->len;
  Rejection *rejection;

  raw_send (raw, m, destination);
  raw_barrier (raw);
  g_assert_cmpuint (f->rejected->len, ==, rejected + 1);
  rejection = g_ptr_array_index (f->rejected, rejected);
  g_assert_cmpstr (rejection->sender, ==, raw->unique_name);
  g_assert_error (rejection->error, EIPC_ERROR, (gint) code);
  g_assert_cmpstr (rejection->error->message, ==, message);
  g_assert_cmpuint (f->logged->len, ==, logged);
  assert_serving (f);
}

/* A Message signal from @f->good's own path with bad content. */
static void
expect_message_rejected (Fixture    *f,
                         const char *channel,
                         const char *args,
                         const char *message)
{
  expect_rejected (f, f->good, raw_message (f->good, f->good->path, channel, args),
                   TEST_APP_ID, EIPC_ERROR_INVALID_ARGS, message);
}

/* --- method calls with bad arguments ------------------------------------ */

static void
test_not_json (Fixture       *f,
               gconstpointer  data)
{
  expect_invalid_args (f, "ping", "not json",
                       "The arguments are not valid JSON: unexpected character at offset 0");
  expect_invalid_args (f, "ping", "[1,",
                       "The arguments are not valid JSON: unexpected end of text at offset 3");
  expect_invalid_args (f, "ping", "{\"a\":}",
                       "The arguments are not valid JSON: unexpected character at offset 5");
  expect_invalid_args (f, "ping", "",
                       "The arguments are not valid JSON: unexpected end of text at offset 0");
  expect_invalid_args (f, "ping", "[1,]",
                       "The arguments are not valid JSON: unexpected character at offset 3");
  expect_invalid_args (f, "ping", "['x']",
                       "The arguments are not valid JSON: unexpected character at offset 1");
  expect_invalid_args (f, "ping", "[\"\\u0000\"]",
                       "The arguments are not valid JSON: \\u0000 is not supported at offset 8");
  expect_invalid_args (f, "ping", "[\"a\tb\"]",
                       "The arguments are not valid JSON: control character in string at offset 3");
  expect_invalid_args (f, "ping", "[01]",
                       "The arguments are not valid JSON: expected ',' or ']' at offset 2");
  expect_invalid_args (f, "ping", "[NaN]",
                       "The arguments are not valid JSON: unexpected character at offset 1");
}

/* Long strings, with the byte that matters at every offset of the
 * first 48: the validator scans a string 16 or 8 bytes at a time before
 * it looks at single bytes, and each block size and each position in a
 * block must end the run where the byte is. */
static void
test_long_strings (Fixture       *f,
                   gconstpointer  data)
{
  for (guint k = 0; k < 48; k++)
    {
      g_autofree char *head = g_strnfill (k, 'a');
      g_autofree char *tail = g_strnfill (40, 'b');
      g_autofree char *control = g_strdup_printf ("[\"%s\001%s\"]", head, tail);
      g_autofree char *quote = g_strdup_printf ("[\"%s\"%s\"]", head, tail);
      g_autofree char *control_error =
        g_strdup_printf ("The arguments are not valid JSON: control character "
                         "in string at offset %u", k + 2);
      g_autofree char *quote_error =
        g_strdup_printf ("The arguments are not valid JSON: expected ',' or ']' "
                         "at offset %u", k + 3);
      const char *good[] = { "\\\"", "\\\\", "\\u00e9", "\xc3\xa9",
                             "\xf0\x9f\x98\x80", "\x7f" };

      expect_invalid_args (f, "ping", control, control_error);
      expect_invalid_args (f, "ping", quote, quote_error);
      for (guint i = 0; i < G_N_ELEMENTS (good); i++)
        {
          g_autofree char *args = g_strdup_printf ("[\"%s%s%s\"]", head, good[i], tail);

          expect_result (f->good, raw_ss (f->good, "Invoke", "ping", args), "\"pong\"");
          g_assert_cmpstr (f->ping_args, ==, args);
          g_assert_cmpuint (f->ping_args_len, ==, 1);
        }
    }
  assert_serving (f);
}

static void
test_not_array (Fixture       *f,
                gconstpointer  data)
{
  expect_invalid_args (f, "ping", "{}",
                       "The arguments must be a JSON array, not an object");
  expect_invalid_args (f, "ping", "42",
                       "The arguments must be a JSON array, not a number");
  expect_invalid_args (f, "ping", "\"x\"",
                       "The arguments must be a JSON array, not a string");
  expect_invalid_args (f, "ping", " null ",
                       "The arguments must be a JSON array, not null");
  expect_invalid_args (f, "ping", "true",
                       "The arguments must be a JSON array, not a boolean");
}

static void
test_trailing_garbage (Fixture       *f,
                       gconstpointer  data)
{
  expect_invalid_args (f, "ping", "[] x",
                       "The arguments are not valid JSON: trailing characters "
                       "after the value at offset 3");
  expect_invalid_args (f, "ping", "[][]",
                       "The arguments are not valid JSON: trailing characters "
                       "after the value at offset 2");
  /* Whitespace around the value is fine. */
  expect_result (f->good, raw_ss (f->good, "Invoke", "ping", " [ 1 ]\n"), "\"pong\"");
  g_assert_cmpstr (f->ping_args, ==, " [ 1 ]\n");
  assert_serving (f);
}

/* The empty channel is an ordinary channel, as in Electron: refused by
 * nothing, served like any other. */
static void
test_empty_channel (Fixture       *f,
                    gconstpointer  data)
{
  guint logged = f->logged->len;

  expect_error (f->good, raw_ss (f->good, "SendSync", "", "[]"),
                "org.eipc.Error.NoListener",
                "No listener registered for sendSync on ''");
  eipc_main_handle (f->main, "", handle_ping, f, NULL, NULL);
  eipc_main_on (f->main, "", log_listener, f, NULL);
  expect_result (f->good, raw_ss (f->good, "Invoke", "", "[\"empty\"]"), "\"pong\"");
  g_assert_cmpstr (f->ping_args, ==, "[\"empty\"]");
  expect_result (f->good, raw_ss (f->good, "SendSync", "", "[1]"), "\"logged\"");
  raw_send (f->good, raw_message (f->good, f->good->path, "", "[2]"), TEST_APP_ID);
  raw_barrier (f->good);
  g_assert_cmpuint (f->logged->len, ==, logged + 2);
  g_assert_cmpstr (g_ptr_array_index (f->logged, logged + 1), ==, "[2]");
  g_assert_cmpuint (f->rejected->len, ==, 0);
}

static void
test_long_channel (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *huge = g_strnfill (64 * 1024, 'c');
  g_autofree char *longest = g_strnfill (4097, 'c');
  g_autofree char *no_handler = NULL;

  expect_invalid_args (f, huge, "[]", "The channel is longer than 4096 bytes");
  expect_invalid_args (f, longest, "[]", "The channel is longer than 4096 bytes");

  /* 4096 bytes is allowed: the call gets as far as the handler lookup. */
  longest[4096] = '\0';
  no_handler = g_strdup_printf ("Error invoking remote method '%s': Error: "
                                "No handler registered for '%s'", longest, longest);
  expect_error (f->good, raw_ss (f->good, "Invoke", longest, "[]"),
                "org.eipc.Error.NoHandler", no_handler);
  assert_serving (f);
}

static char *
nested (guint depth)
{
  char *text = g_malloc (2 * depth + 1);

  memset (text, '[', depth);
  memset (text + depth, ']', depth);
  text[2 * depth] = '\0';
  return text;
}

static void
test_deep_nesting (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *deep = nested (100000);
  g_autofree char *limit = nested (512);
  g_autofree char *over = nested (513);
  g_autofree char *objects = NULL;
  GString *s = g_string_new (NULL);

  /* Refused without recursion: no stack overflow, a clear error. */
  expect_invalid_args (f, "ping", deep, "The JSON nests deeper than 512 levels");
  expect_invalid_args (f, "ping", over, "The JSON nests deeper than 512 levels");

  for (guint i = 0; i < 100000; i++)
    g_string_append (s, "[{\"a\":");
  objects = g_string_free (s, FALSE);
  expect_invalid_args (f, "ping", objects, "The JSON nests deeper than 512 levels");

  /* The limit itself is accepted, and json-glib parses it. */
  expect_result (f->good, raw_ss (f->good, "Invoke", "ping", limit), "\"pong\"");
  g_assert_cmpstr (f->ping_args, ==, limit);
  g_assert_cmpuint (f->ping_args_len, ==, 1);
  assert_serving (f);
}

static void
test_lone_surrogate (Fixture       *f,
                     gconstpointer  data)
{
  /* Valid JSON grammar, but no Unicode text: json-glib cannot read it
   * and a D-Bus string cannot carry it, so eipc refuses it up front. */
  expect_invalid_args (f, "ping", "[\"\\ud800\"]",
                       "The arguments are not valid JSON: lone high surrogate at offset 8");
  expect_invalid_args (f, "ping", "[\"\\ud800x\"]",
                       "The arguments are not valid JSON: lone high surrogate at offset 8");
  expect_invalid_args (f, "ping", "[\"\\ud800\\u0041\"]",
                       "The arguments are not valid JSON: lone high surrogate at offset 8");
  expect_invalid_args (f, "ping", "[\"\\udc00\"]",
                       "The arguments are not valid JSON: lone low surrogate at offset 8");
  expect_invalid_args (f, "ping", "[\"\\ud83d\"]",
                       "The arguments are not valid JSON: lone high surrogate at offset 8");

  /* A pair is fine. */
  expect_result (f->good, raw_ss (f->good, "Invoke", "ping", "[\"\\ud83d\\ude00\"]"),
                 "\"pong\"");
  g_assert_cmpstr (f->ping_args, ==, "[\"\\ud83d\\ude00\"]");
  assert_serving (f);
}

/* Valid JSON whatever its numbers: accepted, and the text reaches the
 * handler untouched; json-glib's reading of it (1e400 becomes +inf, a
 * 30-digit integer wraps around in a gint64) is lossy but must not
 * crash. Handlers that care read eipc_event_get_args_json(). */
static void
test_number_limits (Fixture       *f,
                    gconstpointer  data)
{
  static const struct {
    const char *args;
    guint       len;
  } cases[] = {
    { "[1e400]", 1 },
    { "[-1e400]", 1 },
    { "[1e-400]", 1 },
    { "[-0]", 1 },
    { "[-0.0e-0]", 1 },
    { "[123456789012345678901234567890]", 1 },
    { "[-123456789012345678901234567890]", 1 },
    { "[9223372036854775807,9223372036854775808,-9223372036854775809]", 3 },
    { "[1.7976931348623157e308,4.9e-324,2.2250738585072014e-308]", 3 },
    { "[0.1e1,1E+2,1e05]", 3 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint logged = f->logged->len;

      expect_result (f->good, raw_ss (f->good, "Invoke", "ping", cases[i].args),
                     "\"pong\"");
      g_assert_cmpstr (f->ping_args, ==, cases[i].args);
      g_assert_cmpuint (f->ping_args_len, ==, cases[i].len);

      expect_result (f->good, raw_ss (f->good, "SendSync", "log", cases[i].args),
                     "\"logged\"");
      g_assert_cmpstr (g_ptr_array_index (f->logged, logged), ==, cases[i].args);

      raw_send (f->good, raw_message (f->good, f->good->path, "log", cases[i].args),
                TEST_APP_ID);
      raw_barrier (f->good);
      g_assert_cmpuint (f->logged->len, ==, logged + 2);
      g_assert_cmpstr (g_ptr_array_index (f->logged, logged + 1), ==, cases[i].args);
    }
  assert_serving (f);
}

static char *
big_string_array (gsize size)
{
  char *text = g_malloc (size + 5);

  text[0] = '[';
  text[1] = '"';
  memset (text + 2, 'a', size);
  text[size + 2] = '"';
  text[size + 3] = ']';
  text[size + 4] = '\0';
  return text;
}

static void
test_large_payload (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *big = big_string_array (BIG_PAYLOAD_SIZE);
  g_autofree char *message = NULL;
  g_autofree char *too_big = NULL;
  guint logged = f->logged->len;
  Raw *raw;
  RawJob job;

  /* Delivered whole, as it was sent. */
  expect_result (f->good, raw_ss (f->good, "Invoke", "ping", big), "\"pong\"");
  g_assert_cmpuint (strlen (f->ping_args), ==, BIG_PAYLOAD_SIZE + 4);
  g_assert_true (strcmp (f->ping_args, big) == 0);
  g_assert_cmpuint (f->ping_args_len, ==, 1);
  raw_send (f->good, raw_message (f->good, f->good->path, "log", big), TEST_APP_ID);
  raw_barrier (f->good);
  g_assert_cmpuint (f->logged->len, ==, logged + 1);
  g_assert_true (strcmp (g_ptr_array_index (f->logged, logged), big) == 0);
  assert_serving (f);

  /* Broken at the very end (no closing bracket): the offset says where. */
  big[BIG_PAYLOAD_SIZE + 3] = '\0';
  message = g_strdup_printf ("The arguments are not valid JSON: expected ',' "
                             "or ']' at offset %d", BIG_PAYLOAD_SIZE + 3);
  expect_invalid_args (f, "ping", big, message);

  /* Over dbus-daemon's limit: dbus-daemon disconnects the sender before
   * the main process sees anything. dbus-broker's only limit is the
   * protocol's 128 MiB (and the sender's quota): the message reaches the
   * main process, which refuses arguments over its max-args-size. Either
   * way the caller learns it, and the main process goes on. */
  raw = fixture_raw (f);
  too_big = big_string_array (BUS_MAX_MESSAGE_SIZE + 1024);
  raw_call (raw, raw_ss (raw, "Invoke", "ping", too_big), &job);
  g_assert_cmpint (job.r, <, 0);
  g_test_message ("a %d-byte message on %s: %s", BUS_MAX_MESSAGE_SIZE + 1024,
                  test_bus_name (),
                  job.error.name != NULL ? job.error.name : g_strerror (-job.r));
  if (test_bus_is_broker ())
    {
      g_assert_cmpstr (job.error.name, ==, "org.eipc.Error.LimitsExceeded");
      g_assert_nonnull (strstr (job.error.message, "larger than the limit"));
    }
  else
    g_assert_true (job.r == -ECONNRESET || job.r == -EPIPE || job.r == -ENOTCONN ||
                   g_strcmp0 (job.error.name, "org.freedesktop.DBus.Error.Disconnected") == 0);
  raw_job_clear (&job);
  assert_serving (f);
}

/* --- wrong signatures, members, interfaces, paths ------------------------ */

static void
test_wrong_signature (Fixture       *f,
                      gconstpointer  data)
{
  const char *members[] = { "Invoke", "SendSync" };
  Raw *raw = f->good;

  for (gsize i = 0; i < G_N_ELEMENTS (members); i++)
    {
      g_autofree char *s = g_strdup_printf ("Invalid arguments 's' to call "
                                            MAIN_IFACE ".%s(), expecting 'ss'.",
                                            members[i]);
      g_autofree char *si = g_strdup_printf ("Invalid arguments 'si' to call "
                                             MAIN_IFACE ".%s(), expecting 'ss'.",
                                             members[i]);
      g_autofree char *ssx = g_strdup_printf ("Invalid arguments 'ssx' to call "
                                              MAIN_IFACE ".%s(), expecting 'ss'.",
                                              members[i]);
      g_autofree char *none = g_strdup_printf ("Invalid arguments '' to call "
                                               MAIN_IFACE ".%s(), expecting 'ss'.",
                                               members[i]);
      sd_bus_message *m;

      m = raw_method (raw, BASE, MAIN_IFACE, members[i]);
      g_assert_cmpint (sd_bus_message_append (m, "s", "ping"), >=, 0);
      expect_error (raw, m, DBUS_INVALID_ARGS, s);

      m = raw_method (raw, BASE, MAIN_IFACE, members[i]);
      g_assert_cmpint (sd_bus_message_append (m, "si", "ping", 42), >=, 0);
      expect_error (raw, m, DBUS_INVALID_ARGS, si);

      m = raw_method (raw, BASE, MAIN_IFACE, members[i]);
      g_assert_cmpint (sd_bus_message_append (m, "ssx", "ping", "[]", (gint64) 7), >=, 0);
      expect_error (raw, m, DBUS_INVALID_ARGS, ssx);

      m = raw_method (raw, BASE, MAIN_IFACE, members[i]);
      expect_error (raw, m, DBUS_INVALID_ARGS, none);
    }
  g_assert_cmpuint (f->ping_count, ==, 0);
  assert_serving (f);
}

static void
test_attach_options (Fixture       *f,
                     gconstpointer  data)
{
  Raw *raw = fixture_raw (f);
  sd_bus_message *m;

  /* "host" is a webContents id ('t'), not a string. */
  m = raw_method (raw, BASE, MAIN_IFACE, "Attach");
  g_assert_cmpint (sd_bus_message_append (m, "a{sv}", 1, "host", "s", "5"), >=, 0);
  expect_error (raw, m, ERR_INVALID_ARGS,
                "The attach option 'host' must be a webContents id of type 't', not 's'");

  m = raw_method (raw, BASE, MAIN_IFACE, "Attach");
  g_assert_cmpint (sd_bus_message_append (m, "a{sv}", 2, "other", "i", 1,
                                          "host", "u", 5), >=, 0);
  expect_error (raw, m, ERR_INVALID_ARGS,
                "The attach option 'host' must be a webContents id of type 't', not 'u'");

  /* A host that does not exist. */
  m = raw_method (raw, BASE, MAIN_IFACE, "Attach");
  g_assert_cmpint (sd_bus_message_append (m, "a{sv}", 1, "host", "t", (guint64) 999), >=, 0);
  expect_error (raw, m, "org.eipc.Error.NoSuchWebContents",
                "No webContents with id 999 is attached");

  /* Not the a{sv} at all. */
  m = raw_method (raw, BASE, MAIN_IFACE, "Attach");
  g_assert_cmpint (sd_bus_message_append (m, "s", "host"), >=, 0);
  expect_error (raw, m, DBUS_INVALID_ARGS,
                "Invalid arguments 's' to call " MAIN_IFACE ".Attach(), expecting 'a{sv}'.");

  /* None of that attached it. */
  g_assert_null (eipc_main_get_web_contents (f->main, 1));
  assert_serving (f);

  /* Unknown options are ignored, and the client attaches. */
  m = raw_method (raw, BASE, MAIN_IFACE, "Attach");
  g_assert_cmpint (sd_bus_message_append (m, "a{sv}", 1, "future", "s", "x"), >=, 0);
  {
    RawJob job;

    raw_call (raw, m, &job);
    g_assert_cmpint (job.r, >=, 0);
    raw_job_clear (&job);
  }
  assert_serving (f);
}

static void
test_unknown_member (Fixture       *f,
                     gconstpointer  data)
{
  Raw *raw = f->good;
  sd_bus_message *m = raw_method (raw, BASE, MAIN_IFACE, "Nope");
  g_autofree char *detach = g_strdup_printf ("%s is not attached", raw->unique_name);

  g_assert_cmpint (sd_bus_message_append (m, "ss", "ping", "[]"), >=, 0);
  expect_error (raw, m, "org.freedesktop.DBus.Error.UnknownMethod",
                "Unknown method Nope or interface " MAIN_IFACE ".");
  /* Detach from a client that never attached. */
  expect_error (raw, raw_method (raw, BASE, MAIN_IFACE, "Detach"),
                ERR_NOT_ATTACHED, detach);
  assert_serving (f);
}

static void
test_unknown_interface (Fixture       *f,
                        gconstpointer  data)
{
  Raw *raw = f->good;
  sd_bus_message *m = raw_method (raw, BASE, "org.eipc.Main2", "Invoke");

  g_assert_cmpint (sd_bus_message_append (m, "ss", "ping", "[]"), >=, 0);
  expect_error (raw, m, "org.freedesktop.DBus.Error.UnknownMethod",
                "Unknown method Invoke or interface org.eipc.Main2.");
  m = raw_method (raw, BASE, RENDERER_IFACE, "Message");
  g_assert_cmpint (sd_bus_message_append (m, "ss", "log", "[]"), >=, 0);
  expect_error (raw, m, "org.freedesktop.DBus.Error.UnknownMethod",
                "Unknown method Message or interface " RENDERER_IFACE ".");
  g_assert_cmpuint (f->ping_count, ==, 0);
  assert_serving (f);
}

static void
test_unknown_object (Fixture       *f,
                     gconstpointer  data)
{
  const char *paths[] = {
    BASE "/Nope",
    BASE "/Nope/Deeper",
    BASE "/WebContents/5",
    BASE "/WebContents/0",
    BASE "/WebContents/x",
    "/org/eipc/Test2",
  };
  Raw *raw = f->good;

  for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autofree char *message = g_strdup_printf ("Unknown object '%s'.", paths[i]);
      sd_bus_message *m = raw_method (raw, paths[i], MAIN_IFACE, "Invoke");

      g_assert_cmpint (sd_bus_message_append (m, "ss", "ping", "[]"), >=, 0);
      expect_error (raw, m, "org.freedesktop.DBus.Error.UnknownObject", message);
    }
  g_assert_cmpuint (f->ping_count, ==, 0);
  assert_serving (f);
}

static void
test_read_only_property (Fixture       *f,
                         gconstpointer  data)
{
  Raw *raw = f->good;
  sd_bus_message *m;

  m = raw_method (raw, BASE, PROPS_IFACE, "Set");
  g_assert_cmpint (sd_bus_message_append (m, "ssv", MAIN_IFACE, "Strict", "b", 1), >=, 0);
  expect_error (raw, m, "org.freedesktop.DBus.Error.PropertyReadOnly",
                "Property 'Strict' is not writable.");
  g_assert_false (eipc_main_get_strict (f->main));

  m = raw_method (raw, BASE, PROPS_IFACE, "Set");
  g_assert_cmpint (sd_bus_message_append (m, "ssv", MAIN_IFACE, "Channels",
                                          "as", 1, "evil"), >=, 0);
  expect_error (raw, m, "org.freedesktop.DBus.Error.PropertyReadOnly",
                "Property 'Channels' is not writable.");

  m = raw_method (raw, BASE, PROPS_IFACE, "Set");
  g_assert_cmpint (sd_bus_message_append (m, "ssv", MAIN_IFACE, "WebContents",
                                          "a(tsut)", 1, (guint64) 1, ":1.1",
                                          (guint32) 1, (guint64) 0), >=, 0);
  expect_error (raw, m, "org.freedesktop.DBus.Error.PropertyReadOnly",
                "Property 'WebContents' is not writable.");
  g_assert_null (eipc_main_get_web_contents (f->main, 1));

  /* A property that does not exist; Set without a value (sd-bus checks
   * that the property is writable before it reads the value). */
  m = raw_method (raw, BASE, PROPS_IFACE, "Set");
  g_assert_cmpint (sd_bus_message_append (m, "ssv", MAIN_IFACE, "Nope", "b", 1), >=, 0);
  expect_error (raw, m, "org.freedesktop.DBus.Error.UnknownProperty",
                "Unknown interface " MAIN_IFACE " or property Nope.");
  m = raw_method (raw, BASE, PROPS_IFACE, "Set");
  g_assert_cmpint (sd_bus_message_append (m, "ss", MAIN_IFACE, "Strict"), >=, 0);
  expect_error (raw, m, "org.freedesktop.DBus.Error.PropertyReadOnly",
                "Property 'Strict' is not writable.");
  assert_serving (f);
}

/* --- Message signals ----------------------------------------------------- */

static void
test_signal_not_json (Fixture       *f,
                      gconstpointer  data)
{
  expect_message_rejected (f, "log", "not json",
                           "The arguments are not valid JSON: unexpected character at offset 0");
  expect_message_rejected (f, "log", "[1,",
                           "The arguments are not valid JSON: unexpected end of text at offset 3");
  expect_message_rejected (f, "log", "{\"a\":}",
                           "The arguments are not valid JSON: unexpected character at offset 5");
  expect_message_rejected (f, "log", "[] x",
                           "The arguments are not valid JSON: trailing characters "
                           "after the value at offset 3");
  expect_message_rejected (f, "log", "[\"\\ud800\"]",
                           "The arguments are not valid JSON: lone high surrogate at offset 8");
  {
    g_autofree char *deep = nested (100000);

    expect_message_rejected (f, "log", deep, "The JSON nests deeper than 512 levels");
  }
}

static void
test_signal_not_array (Fixture       *f,
                       gconstpointer  data)
{
  expect_message_rejected (f, "log", "{}",
                           "The arguments must be a JSON array, not an object");
  expect_message_rejected (f, "log", "42",
                           "The arguments must be a JSON array, not a number");
  expect_message_rejected (f, "log", "\"x\"",
                           "The arguments must be a JSON array, not a string");
}

static void
test_signal_bad_channel (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *huge = g_strnfill (64 * 1024, 'c');

  expect_message_rejected (f, huge, "[]", "The channel is longer than 4096 bytes");
}

static void
test_signal_wrong_signature (Fixture       *f,
                             gconstpointer  data)
{
  Raw *raw = f->good;
  sd_bus_message *m;

  m = raw_signal (raw, raw->path);
  g_assert_cmpint (sd_bus_message_append (m, "s", "log"), >=, 0);
  expect_rejected (f, raw, m, TEST_APP_ID, EIPC_ERROR_INVALID_ARGS,
                   "A Message signal carries (ss), not (s)");

  m = raw_signal (raw, raw->path);
  g_assert_cmpint (sd_bus_message_append (m, "si", "log", 42), >=, 0);
  expect_rejected (f, raw, m, TEST_APP_ID, EIPC_ERROR_INVALID_ARGS,
                   "A Message signal carries (ss), not (si)");

  m = raw_signal (raw, raw->path);
  expect_rejected (f, raw, m, TEST_APP_ID, EIPC_ERROR_INVALID_ARGS,
                   "A Message signal carries (ss), not ()");

  /* Extra arguments are not silently ignored (WebContents1.Message's
   * (sst), sent the wrong way, for example). */
  m = raw_signal (raw, raw->path);
  g_assert_cmpint (sd_bus_message_append (m, "sst", "log", "[]", (guint64) 1), >=, 0);
  expect_rejected (f, raw, m, TEST_APP_ID, EIPC_ERROR_INVALID_ARGS,
                   "A Message signal carries (ss), not (sst)");
}

static void
test_signal_broadcast (Fixture       *f,
                       gconstpointer  data)
{
  Raw *raw = f->good;
  guint logged;

  expect_rejected (f, raw, raw_message (raw, raw->path, "log", "[\"everyone\"]"),
                   NULL, EIPC_ERROR_ACCESS_DENIED,
                   "A Message signal must be sent to " TEST_APP_ID ", not broadcast");

  /* To the main process's unique name is as good as to the app name. */
  logged = f->logged->len;
  raw_send (raw, raw_message (raw, raw->path, "log", "[\"unique\"]"),
            eipc_main_get_unique_name (f->main));
  raw_barrier (raw);
  g_assert_cmpuint (f->logged->len, ==, logged + 1);
  g_assert_cmpstr (g_ptr_array_index (f->logged, logged), ==, "[\"unique\"]");
  g_assert_cmpuint (f->rejected->len, ==, 1);
  assert_serving (f);
}

/* A client that never attached claims a renderer's path. */
static void
test_signal_unattached_claims_path (Fixture       *f,
                                    gconstpointer  data)
{
  Raw *raw = fixture_raw (f);
  g_autofree char *message = g_strdup_printf ("%s may not send from " BASE
                                              "/WebContents/5 (its path is "
                                              BASE ")", raw->unique_name);

  expect_rejected (f, raw, raw_message (raw, BASE "/WebContents/5", "log", "[]"),
                   TEST_APP_ID, EIPC_ERROR_ACCESS_DENIED, message);

  /* Also when webContents 1 exists and belongs to someone else. */
  raw_attach (f->good);
  g_assert_cmpuint (f->good->id, ==, 1);
  g_free (message);
  message = g_strdup_printf ("%s may not send from %s (its path is " BASE ")",
                             raw->unique_name, f->good->path);
  expect_rejected (f, raw, raw_message (raw, f->good->path, "log", "[]"),
                   TEST_APP_ID, EIPC_ERROR_ACCESS_DENIED, message);
}

/* An attached renderer emits from another renderer's path, then from
 * its own. */
static void
test_signal_other_renderer_path (Fixture       *f,
                                 gconstpointer  data)
{
  Raw *raw = fixture_raw (f);
  g_autofree char *other = NULL;
  g_autofree char *message = NULL;

  raw_attach (f->good);
  raw_attach (raw);
  g_assert_cmpuint (raw->id, !=, f->good->id);
  g_assert_cmpstr (eipc_web_contents_get_unique_name (eipc_main_get_web_contents (f->main, raw->id)),
                   ==, raw->unique_name);

  /* Another attached renderer's path. */
  message = g_strdup_printf ("%s may not send from %s (its path is %s)",
                             raw->unique_name, f->good->path, raw->path);
  expect_rejected (f, raw, raw_message (raw, f->good->path, "log", "[\"spoof\"]"),
                   TEST_APP_ID, EIPC_ERROR_ACCESS_DENIED, message);

  /* A path of an id nobody has. */
  other = g_strdup_printf (BASE "/WebContents/%" G_GUINT64_FORMAT, raw->id + 1000);
  g_free (message);
  message = g_strdup_printf ("%s may not send from %s (its path is %s)",
                             raw->unique_name, other, raw->path);
  expect_rejected (f, raw, raw_message (raw, other, "log", "[\"spoof\"]"),
                   TEST_APP_ID, EIPC_ERROR_ACCESS_DENIED, message);

  /* The main process's own path is not the renderer's either. */
  g_free (message);
  message = g_strdup_printf ("%s may not send from " BASE " (its path is %s)",
                             raw->unique_name, raw->path);
  expect_rejected (f, raw, raw_message (raw, BASE, "log", "[\"spoof\"]"),
                   TEST_APP_ID, EIPC_ERROR_ACCESS_DENIED, message);
}

static void
test_signal_own_path (Fixture       *f,
                      gconstpointer  data)
{
  Raw *raw = fixture_raw (f);
  guint rejected = f->rejected->len;

  raw_attach (raw);
  raw_send (raw, raw_message (raw, raw->path, "log", "[\"mine\"]"), TEST_APP_ID);
  raw_barrier (raw);
  g_assert_cmpuint (f->logged->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->logged, 0), ==, "[\"mine\"]");
  g_assert_cmpuint (f->log_sender, ==, raw->id);
  g_assert_cmpuint (f->rejected->len, ==, rejected);
  assert_serving (f);
}

/* --- strict mode --------------------------------------------------------- */

static void
test_strict (Fixture       *f,
             gconstpointer  data)
{
  Raw *raw = fixture_raw (f);
  g_autofree char *message = NULL;

  eipc_main_set_strict (f->main, TRUE);
  raw_attach (f->good);

  message = g_strdup_printf ("%s has not attached to " TEST_APP_ID "; this main "
                             "process only serves attached renderers",
                             raw->unique_name);
  expect_error (raw, raw_ss (raw, "Invoke", "ping", "[]"), ERR_NOT_ATTACHED, message);
  expect_error (raw, raw_ss (raw, "SendSync", "log", "[]"), ERR_NOT_ATTACHED, message);
  /* Not attached comes first, even for bad arguments. */
  expect_error (raw, raw_ss (raw, "Invoke", "", "not json"), ERR_NOT_ATTACHED, message);
  g_assert_cmpuint (f->ping_count, ==, 0);
  expect_rejected (f, raw, raw_message (raw, BASE, "log", "[]"), TEST_APP_ID,
                   EIPC_ERROR_NOT_ATTACHED, message);

  /* Once attached, the same client is served. */
  raw_attach (raw);
  expect_result (raw, raw_ss (raw, "Invoke", "ping", "[1]"), "\"pong\"");
  raw_send (raw, raw_message (raw, raw->path, "log", "[2]"), TEST_APP_ID);
  raw_barrier (raw);
  g_assert_cmpuint (f->log_sender, ==, raw->id);
  assert_serving (f);
}

/* --- busctl -------------------------------------------------------------- */

typedef struct {
  gboolean  done;
  char     *out;
  char     *err;
  GError   *error;
} Communicate;

static void
communicate_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Communicate *c = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result,
                                        &c->out, &c->err, &c->error);
  c->done = TRUE;
}

/* Runs `busctl --address=ADDR ARGS...` while the main context keeps
 * running; returns its exit status. */
static int
run_busctl (char       **out,
            char       **err,
            const char  *first_arg,
            ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  Communicate c = { FALSE, };
  va_list ap;

  g_ptr_array_add (argv, g_strdup ("busctl"));
  g_ptr_array_add (argv, g_strdup_printf ("--address=%s", test_bus_address ()));
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, communicate_done, &c);
  test_wait_for (&c.done, 30000);
  g_assert_no_error (c.error);
  /* communicate returns at EOF; reap the process too. */
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  if (g_test_verbose ())
    g_printerr ("busctl: status %d, out '%s', err '%s'\n",
                g_subprocess_get_exit_status (process), c.out, c.err);
  *out = c.out;
  *err = c.err;
  return g_subprocess_get_exit_status (process);
}

static gboolean
have_busctl (void)
{
  g_autofree char *path = g_find_program_in_path ("busctl");

  if (path == NULL)
    g_test_skip ("busctl is not installed");
  return path != NULL;
}

/* busctl call ... Main1 MEMBER SIG ARGS... fails with status 1 and
 * @message on stderr. */
static void
expect_busctl_error (Fixture    *f,
                     const char *message,
                     const char *first_arg,
                     ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *expected = g_strdup_printf ("Call failed: %s\n", message);
  va_list ap;
  int status;

  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_assert_cmpuint (args->len, ==, 4);

  status = run_busctl (&out, &err, "call", TEST_APP_ID, BASE, MAIN_IFACE,
                       g_ptr_array_index (args, 0), g_ptr_array_index (args, 1),
                       g_ptr_array_index (args, 2), g_ptr_array_index (args, 3),
                       NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_assert_cmpstr (err, ==, expected);
  assert_serving (f);
}

static void
test_busctl_call (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  if (!have_busctl ())
    return;

  expect_busctl_error (f, "The arguments are not valid JSON: unexpected character at offset 0",
                       "Invoke", "ss", "ping", "not json", NULL);
  expect_busctl_error (f, "The arguments are not valid JSON: unexpected end of text at offset 3",
                       "SendSync", "ss", "log", "[1,", NULL);
  expect_busctl_error (f, "The arguments must be a JSON array, not an object",
                       "Invoke", "ss", "ping", "{}", NULL);
  expect_busctl_error (f, "The arguments are not valid JSON: trailing characters after the value at offset 3",
                       "SendSync", "ss", "log", "[] x", NULL);
  expect_busctl_error (f, "No listener registered for sendSync on ''",
                       "SendSync", "ss", "", "[]", NULL);
  expect_busctl_error (f, "The arguments are not valid JSON: lone high surrogate at offset 8",
                       "Invoke", "ss", "ping", "[\"\\ud800\"]", NULL);
  expect_busctl_error (f, "Invalid arguments 'si' to call " MAIN_IFACE ".Invoke(), expecting 'ss'.",
                       "Invoke", "si", "ping", "42", NULL);

  /* Wrong member and wrong object. */
  status = run_busctl (&out, &err, "call", TEST_APP_ID, BASE, MAIN_IFACE, "Nope", NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_cmpstr (err, ==, "Call failed: Unknown method Nope or interface " MAIN_IFACE ".\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  status = run_busctl (&out, &err, "call", TEST_APP_ID, BASE "/Nope", MAIN_IFACE,
                       "Invoke", "ss", "ping", "[]", NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_cmpstr (err, ==, "Call failed: Unknown object '" BASE "/Nope'.\n");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* A read-only property. */
  status = run_busctl (&out, &err, "set-property", TEST_APP_ID, BASE, MAIN_IFACE,
                       "Strict", "b", "true", NULL);
  g_assert_cmpint (status, ==, 1);
  g_assert_cmpstr (err, ==, "Failed to set property Strict on interface "
                   MAIN_IFACE ": Property 'Strict' is not writable.\n");
  g_assert_false (eipc_main_get_strict (f->main));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* And the good call works from busctl too: the numbers arrive as sent. */
  status = run_busctl (&out, &err, "call", TEST_APP_ID, BASE, MAIN_IFACE,
                       "Invoke", "ss", "ping", "[1e400,-0,123456789012345678901234567890]",
                       NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (out, ==, "s \"\\\"pong\\\"\"\n");
  g_assert_cmpstr (f->ping_args, ==, "[1e400,-0,123456789012345678901234567890]");
  g_assert_cmpuint (f->ping_args_len, ==, 3);
  assert_serving (f);
}

/* busctl emit: a signal from a client nobody knows the name of, so wait
 * for the rejection instead of a barrier. */
static void
expect_busctl_emit_rejected (Fixture    *f,
                             EipcError   code,
                             const char *message,
                             const char *first_arg,
                             ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  guint rejected = f->rejected->len;
  guint logged = f->logged->len;
  Rejection *rejection;
  va_list ap;
  int status;

  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (ap);
  while (argv->len < 7)
    g_ptr_array_add (argv, NULL);

  f->rejected_flag = FALSE;
  status = run_busctl (&out, &err, "emit",
                       g_ptr_array_index (argv, 0), g_ptr_array_index (argv, 1),
                       g_ptr_array_index (argv, 2), g_ptr_array_index (argv, 3),
                       g_ptr_array_index (argv, 4), g_ptr_array_index (argv, 5),
                       g_ptr_array_index (argv, 6), NULL);
  g_assert_cmpint (status, ==, 0);
  g_assert_cmpstr (err, ==, "");
  test_wait_for (&f->rejected_flag, 10000);
  g_assert_cmpuint (f->rejected->len, ==, rejected + 1);
  rejection = g_ptr_array_index (f->rejected, rejected);
  g_assert_true (rejection->sender[0] == ':');
  g_assert_error (rejection->error, EIPC_ERROR, (gint) code);
  {
    /* SENDER stands for busctl's unique name, known only now. */
    g_autoptr(GString) expected = g_string_new (message);

    g_string_replace (expected, "SENDER", rejection->sender, 0);
    g_assert_cmpstr (rejection->error->message, ==, expected->str);
  }
  g_assert_cmpuint (f->logged->len, ==, logged);
  assert_serving (f);
}

static void
test_busctl_emit (Fixture       *f,
                  gconstpointer  data)
{
  const char *destination = "--destination=" TEST_APP_ID;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  guint logged;
  int status;

  if (!have_busctl ())
    return;

  expect_busctl_emit_rejected (f, EIPC_ERROR_INVALID_ARGS,
                               "The arguments are not valid JSON: unexpected character at offset 0",
                               destination, BASE, RENDERER_IFACE, "Message",
                               "ss", "log", "not json", NULL);
  expect_busctl_emit_rejected (f, EIPC_ERROR_INVALID_ARGS,
                               "The arguments must be a JSON array, not a number",
                               destination, BASE, RENDERER_IFACE, "Message",
                               "ss", "log", "42", NULL);
  expect_busctl_emit_rejected (f, EIPC_ERROR_INVALID_ARGS,
                               "A Message signal carries (ss), not (s)",
                               destination, BASE, RENDERER_IFACE, "Message",
                               "s", "log", NULL);
  expect_busctl_emit_rejected (f, EIPC_ERROR_ACCESS_DENIED,
                               "A Message signal must be sent to " TEST_APP_ID
                               ", not broadcast",
                               BASE, RENDERER_IFACE, "Message",
                               "ss", "log", "[]", NULL);
  expect_busctl_emit_rejected (f, EIPC_ERROR_ACCESS_DENIED,
                               "SENDER may not send from " BASE "/WebContents/5 "
                               "(its path is " BASE ")",
                               destination, BASE "/WebContents/5", RENDERER_IFACE,
                               "Message", "ss", "log", "[]", NULL);

  /* A good one from busctl reaches the listener, with sender id 0. */
  logged = f->logged->len;
  f->log_sender = G_MAXUINT64;
  f->logged_flag = FALSE;
  status = run_busctl (&out, &err, "emit", destination, BASE, RENDERER_IFACE,
                       "Message", "ss", "log", "[\"busctl\"]", NULL);
  g_assert_cmpint (status, ==, 0);
  test_wait_for (&f->logged_flag, 10000);
  g_assert_cmpuint (f->logged->len, ==, logged + 1);
  g_assert_cmpstr (g_ptr_array_index (f->logged, logged), ==, "[\"busctl\"]");
  g_assert_cmpuint (f->log_sender, ==, 0);
  assert_serving (f);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

#define ADD(path, func) \
  g_test_add ("/ipc/bad-input/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("not-json", test_not_json);
  ADD ("long-strings", test_long_strings);
  ADD ("not-array", test_not_array);
  ADD ("trailing-garbage", test_trailing_garbage);
  ADD ("empty-channel", test_empty_channel);
  ADD ("long-channel", test_long_channel);
  ADD ("deep-nesting", test_deep_nesting);
  ADD ("lone-surrogate", test_lone_surrogate);
  ADD ("number-limits", test_number_limits);
  ADD ("large-payload", test_large_payload);
  ADD ("wrong-signature", test_wrong_signature);
  ADD ("attach-options", test_attach_options);
  ADD ("unknown-member", test_unknown_member);
  ADD ("unknown-interface", test_unknown_interface);
  ADD ("unknown-object", test_unknown_object);
  ADD ("read-only-property", test_read_only_property);
  ADD ("signal/not-json", test_signal_not_json);
  ADD ("signal/not-array", test_signal_not_array);
  ADD ("signal/bad-channel", test_signal_bad_channel);
  ADD ("signal/wrong-signature", test_signal_wrong_signature);
  ADD ("signal/broadcast", test_signal_broadcast);
  ADD ("signal/unattached-claims-path", test_signal_unattached_claims_path);
  ADD ("signal/other-renderer-path", test_signal_other_renderer_path);
  ADD ("signal/own-path", test_signal_own_path);
  ADD ("strict", test_strict);
  ADD ("busctl/call", test_busctl_call);
  ADD ("busctl/emit", test_busctl_emit);

#undef ADD

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
