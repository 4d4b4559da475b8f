/* test-emitter.c: Node's emit rules and reference-counted listeners and
 * handlers, through EipcMain and the bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A plain D-Bus client sends Message signals and Invoke calls to an
 * in-process EipcMain; its listeners and handlers log what they do, and
 * their GDestroyNotify logs "~NAME", so each expected log pins both the
 * order of the runs and the moment the user data is released.
 */

#include <string.h>

#include "test-common.h"

#define BASE_PATH "/org/eipc/Test"

typedef struct {
  EipcMain        *main;
  GDBusConnection *client;
  GString         *log;
  GHashTable      *tags;     /* name -> Tag, while the tag lives */
  gboolean         done;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->main = eipc_main_new (TEST_APP_ID, &error);
  g_assert_no_error (error);
  f->client = test_client_new ();
  f->log = g_string_new (NULL);
  f->tags = g_hash_table_new (NULL, NULL);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_object_unref (f->client);
  g_assert_finalize_object (f->main);
  g_assert_cmpuint (g_hash_table_size (f->tags), ==, 0);
  g_hash_table_unref (f->tags);
  g_string_free (f->log, TRUE);
}

/* The rule table */

typedef enum {
  ADD_ON,
  ADD_ONCE,
  ADD_PREPEND,
} How;

typedef enum {
  ACT_NONE,
  ACT_REMOVE_SELF,      /* remove_listener on itself */
  ACT_REMOVE,           /* remove_listener on the target */
  ACT_REMOVE_BY_ID,     /* remove_listener_by_id on the target */
  ACT_REMOVE_ALL,       /* remove_all_listeners of the channel */
  ACT_ADD,              /* on() a new plain listener named target */
  ACT_COUNT,            /* log the channel's listener count */
} Action;

typedef struct {
  char   name;
  How    how;
  Action action;
  char   target;
} ListenerDef;

typedef struct {
  const char  *name;
  ListenerDef  defs[4];
  const char  *first;    /* the log of the first emission */
  const char  *second;   /* the log of the second one */
} Row;

typedef struct {
  Fixture *f;
  char     name;
  Action   action;
  char     target;
  guint    id;
} Tag;

static const Row rows[] = {
  { "order", { { 'A', ADD_ON, ACT_NONE, 0 }, { 'B', ADD_ON, ACT_NONE, 0 },
               { 'C', ADD_ON, ACT_NONE, 0 } },
    "ABC", "ABC" },
  { "prepend", { { 'A', ADD_ON, ACT_NONE, 0 }, { 'B', ADD_PREPEND, ACT_NONE, 0 },
                 { 'C', ADD_PREPEND, ACT_NONE, 0 } },
    "CBA", "CBA" },
  /* once is removed before it runs and released after it returned. */
  { "once-runs-once", { { 'A', ADD_ONCE, ACT_NONE, 0 }, { 'B', ADD_ON, ACT_NONE, 0 } },
    "A~AB", "B" },
  { "once-removed-before-it-runs", { { 'A', ADD_ONCE, ACT_COUNT, 0 },
                                     { 'B', ADD_ON, ACT_COUNT, 0 } },
    "A1~AB1", "B1" },
  /* A listener added during an emission runs from the next one on. */
  { "added-during-emit-waits", { { 'A', ADD_ON, ACT_ADD, 'D' } },
    "A", "AD" },
  /* The emission works on a copy: one removed by an earlier listener
   * still runs in it, and is released after. */
  { "removed-during-emit-still-runs", { { 'A', ADD_ON, ACT_REMOVE, 'B' },
                                        { 'B', ADD_ON, ACT_NONE, 0 } },
    "AB~B", "A" },
  { "once-removed-during-emit-still-runs", { { 'A', ADD_ON, ACT_REMOVE, 'B' },
                                             { 'B', ADD_ONCE, ACT_NONE, 0 } },
    "AB~B", "A" },
  { "once-removed-by-id-during-emit-still-runs", { { 'A', ADD_ON, ACT_REMOVE_BY_ID, 'B' },
                                                   { 'B', ADD_ONCE, ACT_NONE, 0 } },
    "AB~B", "A" },
  { "remove-self", { { 'A', ADD_ON, ACT_REMOVE_SELF, 0 }, { 'B', ADD_ON, ACT_NONE, 0 } },
    "A~AB", "B" },
  { "remove-all-during-emit", { { 'A', ADD_ON, ACT_REMOVE_ALL, 0 },
                                { 'B', ADD_ON, ACT_NONE, 0 },
                                { 'C', ADD_ONCE, ACT_NONE, 0 } },
    "A~AB~BC~C", "" },
  /* A later listener removing an earlier one changes nothing now. */
  { "remove-earlier-during-emit", { { 'A', ADD_ON, ACT_NONE, 0 },
                                    { 'B', ADD_ON, ACT_REMOVE, 'A' } },
    "AB~A", "B" },
};

static void tag_listener (EipcEvent *event, gpointer user_data);

static void
tag_free (gpointer data)
{
  Tag *tag = data;

  g_string_append_printf (tag->f->log, "~%c", tag->name);
  g_hash_table_remove (tag->f->tags, GINT_TO_POINTER (tag->name));
  g_free (tag);
}

static Tag *
tag_add (Fixture *f,
         char     name,
         How      how,
         Action   action,
         char     target)
{
  Tag *tag = g_new0 (Tag, 1);

  tag->f = f;
  tag->name = name;
  tag->action = action;
  tag->target = target;
  g_assert_false (g_hash_table_contains (f->tags, GINT_TO_POINTER (name)));
  g_hash_table_insert (f->tags, GINT_TO_POINTER (name), tag);
  switch (how)
    {
    case ADD_ON:
      tag->id = eipc_main_on (f->main, "c", tag_listener, tag, tag_free);
      break;
    case ADD_ONCE:
      tag->id = eipc_main_once (f->main, "c", tag_listener, tag, tag_free);
      break;
    case ADD_PREPEND:
      tag->id = eipc_main_prepend_listener (f->main, "c", tag_listener, tag, tag_free);
      break;
    default:
      g_assert_not_reached ();
    }
  g_assert_cmpuint (tag->id, !=, 0);
  return tag;
}

static void
tag_listener (EipcEvent *event,
              gpointer   user_data)
{
  Tag *tag = user_data;
  Fixture *f = tag->f;
  Tag *target = g_hash_table_lookup (f->tags, GINT_TO_POINTER (tag->target));

  g_string_append_c (f->log, tag->name);
  switch (tag->action)
    {
    case ACT_NONE:
      break;
    case ACT_REMOVE_SELF:
      g_assert_true (eipc_main_remove_listener (f->main, "c", tag_listener, tag));
      break;
    /* The target is gone (released) after the first emission. */
    case ACT_REMOVE:
      if (target != NULL)
        g_assert_true (eipc_main_remove_listener (f->main, "c", tag_listener, target));
      break;
    case ACT_REMOVE_BY_ID:
      if (target != NULL)
        g_assert_true (eipc_main_remove_listener_by_id (f->main, target->id));
      break;
    case ACT_REMOVE_ALL:
      eipc_main_remove_all_listeners (f->main, "c");
      g_assert_cmpuint (eipc_main_listener_count (f->main, "c"), ==, 0);
      break;
    case ACT_ADD:
      /* The second emission adds another one, under the lower-case name. */
      tag_add (f, target != NULL ? g_ascii_tolower (tag->target) : tag->target,
               ADD_ON, ACT_NONE, 0);
      break;
    case ACT_COUNT:
      g_string_append_printf (f->log, "%u", eipc_main_listener_count (f->main, "c"));
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
done_listener (EipcEvent *event,
               gpointer   user_data)
{
  Fixture *f = user_data;

  f->done = TRUE;
}

/* One emission of "c" from a plain client; "done" comes after it on the
 * same connection, so when it arrived, the emission is over. */
static void
emit_c (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  f->done = FALSE;
  g_dbus_connection_emit_signal (f->client, TEST_APP_ID, BASE_PATH,
                                 "org.eipc.Renderer1", "Message",
                                 g_variant_new ("(ss)", "c", "[]"), &error);
  g_assert_no_error (error);
  g_dbus_connection_emit_signal (f->client, TEST_APP_ID, BASE_PATH,
                                 "org.eipc.Renderer1", "Message",
                                 g_variant_new ("(ss)", "done", "[]"), &error);
  g_assert_no_error (error);
  test_wait_for (&f->done, 10000);
}

static void
test_rule (Fixture       *f,
           gconstpointer  data)
{
  const Row *row = data;

  eipc_main_on (f->main, "done", done_listener, f, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (row->defs) && row->defs[i].name != 0; i++)
    tag_add (f, row->defs[i].name, row->defs[i].how, row->defs[i].action,
             row->defs[i].target);

  emit_c (f);
  g_assert_cmpstr (f->log->str, ==, row->first);
  g_string_truncate (f->log, 0);
  emit_c (f);
  g_assert_cmpstr (f->log->str, ==, row->second);
}

/* remove_listener removes the matching listener nearest the end. */
static void
test_remove_listener_last_match (Fixture       *f,
                                 gconstpointer  data)
{
  Tag *a = tag_add (f, 'A', ADD_ON, ACT_NONE, 0);

  eipc_main_on (f->main, "done", done_listener, f, NULL);
  /* A second registration of the same function and data, then B. */
  eipc_main_on (f->main, "c", tag_listener, a, NULL);
  tag_add (f, 'B', ADD_ON, ACT_NONE, 0);
  emit_c (f);
  g_assert_cmpstr (f->log->str, ==, "AAB");

  /* The second A goes (it has no destroy notify), the first stays. */
  g_string_truncate (f->log, 0);
  g_assert_true (eipc_main_remove_listener (f->main, "c", tag_listener, a));
  g_assert_cmpstr (f->log->str, ==, "");
  g_assert_cmpuint (eipc_main_listener_count (f->main, "c"), ==, 2);
  emit_c (f);
  g_assert_cmpstr (f->log->str, ==, "AB");
  g_assert_true (eipc_main_remove_listener (f->main, "c", tag_listener, a));
  g_assert_false (eipc_main_remove_listener (f->main, "c", tag_listener, a));
  g_assert_cmpstr (f->log->str, ==, "AB~A");
}

/* Handlers */

typedef struct {
  Fixture *f;
  char    *text;
  char    *remove;   /* the handler channel to remove while running */
  gboolean remove_all_listeners;
} HandlerData;

static void
handler_data_free (gpointer data)
{
  HandlerData *hd = data;

  g_string_append_printf (hd->f->log, "~%s", hd->text);
  g_free (hd->text);
  g_free (hd->remove);
  g_free (hd);
}

static HandlerData *
handler_data_new (Fixture    *f,
                  const char *text,
                  const char *remove)
{
  HandlerData *hd = g_new0 (HandlerData, 1);

  hd->f = f;
  hd->text = g_strdup (text);
  hd->remove = g_strdup (remove);
  return hd;
}

/* Removes what it was told to, then uses its user data: freed under its
 * feet, that is a use-after-free under ASan and valgrind. */
static void
removing_handler (EipcEvent *event,
                  gpointer   user_data)
{
  HandlerData *hd = user_data;
  Fixture *f = hd->f;
  g_autoptr(JsonNode) node = NULL;

  if (hd->remove != NULL)
    g_string_append_printf (f->log, "remove:%d ",
                            eipc_main_remove_handler (f->main, hd->remove));
  if (hd->remove_all_listeners)
    eipc_main_remove_all_listeners (f->main, NULL);
  g_string_append_printf (f->log, "ran:%s ", hd->text);
  node = json_node_init_string (json_node_alloc (), hd->text);
  g_assert_true (eipc_event_resolve (event, node));
}

typedef struct {
  gboolean  done;
  char     *result;
  GError   *error;
} CallResult;

static void
call_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  CallResult *r = user_data;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &r->error);
  if (reply != NULL)
    g_variant_get (reply, "(s)", &r->result);
  r->done = TRUE;
}

/* Invokes @channel from the plain client; returns the JSON result or
 * NULL with *error set to the remote error. */
static char *
invoke (Fixture     *f,
        const char  *channel,
        GError     **error)
{
  CallResult r = { FALSE, NULL, NULL };

  g_dbus_connection_call (f->client, TEST_APP_ID, BASE_PATH, "org.eipc.Main1",
                          "Invoke", g_variant_new ("(ss)", channel, "[]"),
                          G_VARIANT_TYPE ("(s)"), G_DBUS_CALL_FLAGS_NONE, 10000,
                          NULL, call_done, &r);
  test_wait_for (&r.done, 15000);
  if (r.error != NULL)
    g_propagate_error (error, r.error);
  return r.result;
}

static void
assert_no_handler (Fixture    *f,
                   const char *channel)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *result = invoke (f, channel, &error);
  g_autofree char *remote = NULL;

  g_assert_null (result);
  g_assert_nonnull (error);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, "org.eipc.Error.NoHandler");
}

/* ipcMain.removeHandler from inside the running handler: its user data
 * lives until it returned (a heap-use-after-free before the handlers
 * were reference-counted). */
static void
test_handler_removes_itself (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *result = NULL;

  eipc_main_handle (f->main, "h", removing_handler,
                    handler_data_new (f, "self", "h"), handler_data_free, &error);
  g_assert_no_error (error);
  result = invoke (f, "h", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (result, ==, "\"self\"");
  g_assert_cmpstr (f->log->str, ==, "remove:1 ran:self ~self");
  assert_no_handler (f, "h");
}

/* A handler removes another channel's handler: that one is released at
 * once (it is not running), and its channel has no handler any more. */
static void
test_handler_removes_another (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *result = NULL;

  eipc_main_handle (f->main, "first", removing_handler,
                    handler_data_new (f, "first", "second"), handler_data_free, &error);
  g_assert_no_error (error);
  eipc_main_handle (f->main, "second", removing_handler,
                    handler_data_new (f, "second", NULL), handler_data_free, &error);
  g_assert_no_error (error);
  result = invoke (f, "first", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (result, ==, "\"first\"");
  g_assert_cmpstr (f->log->str, ==, "~secondremove:1 ran:first ");
  assert_no_handler (f, "second");
  g_assert_true (eipc_main_remove_handler (f->main, "first"));
  g_assert_cmpstr (f->log->str, ==, "~secondremove:1 ran:first ~first");
}

/* A handler that removes every listener, then itself. */
static void
test_handler_removes_all (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *result = NULL;
  HandlerData *hd = handler_data_new (f, "all", "h");

  hd->remove_all_listeners = TRUE;
  tag_add (f, 'A', ADD_ON, ACT_NONE, 0);
  tag_add (f, 'B', ADD_ONCE, ACT_NONE, 0);
  eipc_main_handle (f->main, "h", removing_handler, hd, handler_data_free, &error);
  g_assert_no_error (error);
  result = invoke (f, "h", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (result, ==, "\"all\"");
  g_assert_cmpstr (f->log->str, ==, "remove:1 ~A~Bran:all ~all");
  g_assert_cmpuint (eipc_main_listener_count (f->main, "c"), ==, 0);
}

/* A listener that removes every listener of every channel while it runs:
 * the others of the emission still run, each released after it ran. */
static void
remove_everything (EipcEvent *event,
                   gpointer   user_data)
{
  Fixture *f = user_data;

  g_string_append (f->log, "X");
  eipc_main_remove_all_listeners (f->main, NULL);
  /* "done" is gone too; the emission ends before the loop looks. */
  f->done = TRUE;
}

static void
test_listener_removes_everything (Fixture       *f,
                                  gconstpointer  data)
{
  eipc_main_on (f->main, "done", done_listener, f, NULL);
  eipc_main_on (f->main, "c", remove_everything, f, NULL);
  tag_add (f, 'A', ADD_ON, ACT_NONE, 0);
  tag_add (f, 'B', ADD_ONCE, ACT_NONE, 0);
  emit_c (f);
  g_assert_cmpstr (f->log->str, ==, "XA~AB~B");
  g_assert_cmpuint (eipc_main_listener_count (f->main, "c"), ==, 0);
  g_assert_cmpuint (eipc_main_listener_count (f->main, "done"), ==, 0);
}

typedef struct {
  Fixture *f;
  guint    runs;
} OnceState;

static void
once_handler (EipcEvent *event,
              gpointer   user_data)
{
  OnceState *state = user_data;
  g_autoptr(GError) error = NULL;

  state->runs++;
  /* Removed before it runs: nothing to remove, and the channel is free
   * for a new handler, as with Electron's handleOnce. */
  g_assert_false (eipc_main_remove_handler (state->f->main, "once"));
  g_assert_true (eipc_main_handle (state->f->main, "once", removing_handler,
                                   handler_data_new (state->f, "next", NULL),
                                   handler_data_free, &error));
  g_assert_no_error (error);
  eipc_event_resolve_json (event, "1", &error);
  g_assert_no_error (error);
}

static void
test_main_handle_once (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *first = NULL, *second = NULL;
  OnceState state = { f, 0 };

  g_assert_true (eipc_main_handle_once (f->main, "once", once_handler, &state,
                                        NULL, &error));
  g_assert_no_error (error);
  first = invoke (f, "once", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (first, ==, "1");
  second = invoke (f, "once", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (second, ==, "\"next\"");
  g_assert_cmpuint (state.runs, ==, 1);
}

/* The same calls on every emitter: the base class and each type. */
static void
count_listener (EipcEvent *event,
                gpointer   user_data)
{
}

static void
test_emitter_calls (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  EipcEmitter *emitter = EIPC_EMITTER (f->main);
  guint id;

  g_assert_true (EIPC_IS_EMITTER (f->main));
  g_assert_true (G_TYPE_IS_ABSTRACT (EIPC_TYPE_EMITTER));
  g_assert_true (g_type_is_a (EIPC_TYPE_RENDERER, EIPC_TYPE_EMITTER));
  g_assert_true (g_type_is_a (EIPC_TYPE_WEB_CONTENTS, EIPC_TYPE_EMITTER));

  id = eipc_emitter_on (emitter, "x", count_listener, NULL, NULL);
  eipc_main_once (f->main, "x", count_listener, NULL, NULL);
  eipc_main_prepend_listener (f->main, "x", count_listener, NULL, NULL);
  g_assert_cmpuint (eipc_emitter_listener_count (emitter, "x"), ==, 3);
  g_assert_true (eipc_main_remove_listener_by_id (f->main, id));
  g_assert_false (eipc_emitter_remove_listener_by_id (emitter, id));
  g_assert_cmpuint (eipc_main_listener_count (f->main, "x"), ==, 2);
  eipc_emitter_remove_all_listeners (emitter, NULL);
  g_assert_cmpuint (eipc_main_listener_count (f->main, "x"), ==, 0);

  g_assert_true (eipc_emitter_handle (emitter, "y", count_listener, NULL, NULL, &error));
  g_assert_true (eipc_emitter_has_handler (emitter, "y"));
  g_assert_false (eipc_main_handle (f->main, "y", count_listener, NULL, NULL, &error));
  g_assert_error (error, EIPC_ERROR, EIPC_ERROR_HANDLER_EXISTS);
  g_assert_cmpstr (error->message, ==, "Attempted to register a second handler for 'y'");
  g_clear_error (&error);
  {
    /* '' is an ordinary channel; one over 4096 bytes is not. */
    g_autofree char *huge = g_strnfill (4097, 'c');

    g_assert_false (eipc_main_handle (f->main, huge, count_listener, NULL, NULL, &error));
    g_assert_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS);
    g_clear_error (&error);
    g_assert_true (eipc_main_handle (f->main, "", count_listener, NULL, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (eipc_main_remove_handler (f->main, ""));
  }
  g_assert_true (eipc_main_remove_handler (f->main, "y"));
  g_assert_false (eipc_emitter_remove_handler (emitter, "y"));
}

/* eipc_renderer_handle_once, in a renderer process: the main process
 * invokes it twice; the second finds no handler. */
typedef struct {
  gboolean  done;
  JsonNode *result;
  GError   *error;
} InvokeResult;

static void
wc_invoke_done (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  InvokeResult *r = user_data;

  r->result = eipc_web_contents_invoke_finish (EIPC_WEB_CONTENTS (source), result,
                                               &r->error);
  r->done = TRUE;
}

static void
test_renderer_handle_once (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL, *output = NULL;
  InvokeResult first = { FALSE, NULL, NULL }, second = { FALSE, NULL, NULL };
  EipcWebContents *wc;
  TestChild *child;
  int status;

  child = test_child_spawn ("listen:quit", "handle-once:once:\"one\"", "id",
                            "wait:quit:1", NULL);
  line = test_child_expect (child, "id ");
  wc = eipc_main_get_web_contents (f->main, g_ascii_strtoull (line + 3, NULL, 10));
  g_assert_nonnull (wc);

  eipc_web_contents_invoke_json (wc, "once", "[]", NULL, wc_invoke_done, &first);
  test_wait_for (&first.done, 15000);
  g_assert_no_error (first.error);
  g_assert_cmpstr (json_node_get_string (first.result), ==, "one");

  eipc_web_contents_invoke_json (wc, "once", "[]", NULL, wc_invoke_done, &second);
  test_wait_for (&second.done, 15000);
  g_assert_null (second.result);
  g_assert_error (second.error, EIPC_ERROR, EIPC_ERROR_NO_HANDLER);
  g_assert_cmpstr (second.error->message, ==, "Error invoking remote method 'once': Error: No handler registered for 'once'");

  eipc_web_contents_send_json (wc, "quit", "[]", &error);
  g_assert_no_error (error);
  output = test_child_finish (child, &status);
  g_assert_cmpint (status, ==, 0);
  json_node_unref (first.result);
  g_clear_error (&second.error);
}

/* The renderer has every emitter call under its own name too; the
 * webContents (main side) as well. Checked without a bus: the calls are
 * the emitter's. */
static void
test_type_calls (void)
{
  /* Taking the addresses makes the link fail if one is missing. */
  gpointer calls[] = {
    eipc_renderer_on, eipc_renderer_once, eipc_renderer_prepend_listener,
    eipc_renderer_remove_listener, eipc_renderer_remove_listener_by_id,
    eipc_renderer_remove_all_listeners, eipc_renderer_listener_count,
    eipc_renderer_handle, eipc_renderer_handle_once, eipc_renderer_remove_handler,
    eipc_web_contents_on, eipc_web_contents_once,
    eipc_web_contents_prepend_listener, eipc_web_contents_remove_listener,
    eipc_web_contents_remove_listener_by_id,
    eipc_web_contents_remove_all_listeners, eipc_web_contents_listener_count,
    eipc_web_contents_handle, eipc_web_contents_handle_once,
    eipc_web_contents_remove_handler,
  };

  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    g_assert_nonnull (calls[i]);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  test_bus_up ();

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *path = g_strconcat ("/ipc/emitter/rule/", rows[i].name, NULL);

      g_test_add (path, Fixture, &rows[i], fixture_setup, test_rule, fixture_teardown);
    }
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/ipc/emitter/remove-listener-last-match", test_remove_listener_last_match);
  ADD ("/ipc/emitter/listener-removes-everything", test_listener_removes_everything);
  ADD ("/ipc/emitter/handler/removes-itself", test_handler_removes_itself);
  ADD ("/ipc/emitter/handler/removes-another", test_handler_removes_another);
  ADD ("/ipc/emitter/handler/removes-all", test_handler_removes_all);
  ADD ("/ipc/emitter/handler/main-handle-once", test_main_handle_once);
  ADD ("/ipc/emitter/handler/renderer-handle-once", test_renderer_handle_once);
  ADD ("/ipc/emitter/calls", test_emitter_calls);
#undef ADD
  g_test_add_func ("/ipc/emitter/type-calls", test_type_calls);

  ret = g_test_run ();
  test_bus_down ();
  return ret;
}
