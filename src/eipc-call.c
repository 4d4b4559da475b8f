/* eipc-call.c: method calls whose replies are checked before they are used
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * sd-bus matches a reply to its call by the reply serial alone and never
 * looks at who sent it, and dbus-daemon's session configuration lets
 * unrequested replies through: any client that sees (or guesses) a
 * serial could answer another process's call. So eipc does not hand its
 * calls to sd_bus_call_async() / sd_bus_call(): it sends them with
 * sd_bus_send() and catches the replies itself, in a filter, by serial,
 * and accepts a reply only from the unique name the call went to (or an
 * error from the bus driver, which dbus-daemon never lets anyone else
 * claim to be). Any other reply makes the call fail with
 * %EIPC_ERROR_FORGED_REPLY naming the sender, and is logged: never a
 * forged result.
 *
 * Used by invoke in both directions, the routed sends, the blocking
 * calls of a renderer (GetNameOwner, GetConnectionCredentials, Attach,
 * sendSync, the ping of a full send window) and the main process's
 * RequestName. Each async call can be
 * cancelled (a GCancellable, or the peer going away) and times out after
 * sd-bus's method call timeout, as sd_bus_call_async() did.
 */

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "eipc-private.h"

#define DBUS_DRIVER "org.freedesktop.DBus"

struct _EipcCalls {
  sd_bus          *bus;
  sd_bus_slot     *filter_slot;
  GSource         *source;         /* completions are deferred to it, or NULL */
  GHashTable      *by_cookie;      /* guint64 * -> GTask or EipcAsync (unowned) */

  /* The blocking call in progress (0 = none). */
  guint64          blocking_cookie;
  const char      *blocking_peer;
  sd_bus_message  *blocking_reply;
  char            *blocking_forger;
};

typedef struct _EipcCall EipcCall;

struct _EipcCall {
  EipcCalls      *calls;
  guint64         cookie;      /* 0 once the call has ended */
  EipcCallSet    *pending;     /* the owner's set of calls in flight */
  gpointer        task;        /* its GTask or EipcAsync, while in pending */
  EipcCall       *prev;        /* in pending, oldest first */
  EipcCall       *next;
  gulong          cancelled_id;
  GSource        *timeout;
  EipcCallResult  result;
  char            peer[];      /* the unique name the call went to */
};

/* A list through the calls themselves, each holding a reference to its
 * task: adding and removing one touches no other memory than its
 * neighbours' (a hash set hashed the task, twice per call). */
struct _EipcCallSet {
  EipcCall *head;
  EipcCall *tail;
};

static void
call_free (gpointer data)
{
  EipcCall *call = data;

  g_assert (call->cookie == 0);
  g_free (call);
}

/* --- EipcAsync: the GAsyncResult of a renderer's invoke -----------------
 *
 * What GTask does for a call, without what a call does not use: no
 * properties (GTask notifies "completed" on every return, a property
 * lookup by name), no threads, no priority, and one object made again
 * and again in place of one GObject made and finalized per call (about
 * 2.6k instructions and an allocation of qdata for g_object_unref()
 * alone). The guarantees GTask gives the caller stay: the callback runs
 * from the thread-default main context of the call's start (an idle
 * source when the result comes elsewhere or in the iteration the call
 * started in), never from inside the _async function; a cancelled
 * GCancellable makes _finish fail with G_IO_ERROR_CANCELLED; the source
 * object is held while the call is in flight; is_tagged() answers with
 * the source tag. */

struct _EipcAsync {
  GObject              parent_instance;
  GObject             *source_object;
  GCancellable        *cancellable;
  GAsyncReadyCallback  callback;
  gpointer             user_data;
  gpointer             source_tag;
  GMainContext        *context;        /* thread-default at the start */
  gint64               creation_time;  /* its current source's time, or 0 */
  EipcCall            *call;           /* the call, in call_block; or NULL */
  EipcCall            *call_block;     /* kept from call to call */
  gsize                call_block_size;
  sd_bus_message      *reply;          /* the result, when not an error */
  GError              *error;
  gboolean             returned;
  EipcAsync          **spare;          /* where it waits to be reused */
};

static void eipc_async_iface_init (GAsyncResultIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (EipcAsync, eipc_async, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_RESULT,
                                                      eipc_async_iface_init))

/* Everything but the source object, as finalize would. */
static void
async_clear (EipcAsync *self)
{
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);
  /* The block stays for the next call. */
  g_assert (self->call == NULL || self->call->cookie == 0);
  self->call = NULL;
  g_clear_pointer (&self->reply, sd_bus_message_unref);
  g_clear_error (&self->error);
  self->callback = NULL;
  self->user_data = NULL;
  self->source_tag = NULL;
  self->creation_time = 0;
  self->returned = FALSE;
  self->spare = NULL;
}

static void
eipc_async_finalize (GObject *object)
{
  EipcAsync *self = EIPC_ASYNC (object);

  async_clear (self);
  g_clear_pointer (&self->call_block, g_free);
  g_clear_object (&self->source_object);
  G_OBJECT_CLASS (eipc_async_parent_class)->finalize (object);
}

/* EIPC_TYPE_ASYNC, once it is registered (0 before: no task is one). A
 * variable, not eipc_async_get_type(): every call asks several times. */
static GType async_type;

static void
eipc_async_class_init (EipcAsyncClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = eipc_async_finalize;
  async_type = G_TYPE_FROM_CLASS (klass);
}

static void
eipc_async_init (EipcAsync *self)
{
}

static gpointer
async_get_user_data (GAsyncResult *result)
{
  return EIPC_ASYNC (result)->user_data;
}

static GObject *
async_get_source_object (GAsyncResult *result)
{
  EipcAsync *self = EIPC_ASYNC (result);

  return self->source_object != NULL ? g_object_ref (self->source_object) : NULL;
}

static gboolean
async_is_tagged (GAsyncResult *result,
                 gpointer      source_tag)
{
  return EIPC_ASYNC (result)->source_tag == source_tag;
}

static void
eipc_async_iface_init (GAsyncResultIface *iface)
{
  iface->get_user_data = async_get_user_data;
  iface->get_source_object = async_get_source_object;
  iface->is_tagged = async_is_tagged;
}

/* g_task_new() and g_task_set_source_tag() in one. With @spare, the
 * object kept there by the last call that nobody else held is used
 * again; the object must not outlive *@spare's owner, which the source
 * object it holds ensures when that owner is @source_object. */
EipcAsync *
eipc_async_new (gpointer              source_object,
                GCancellable         *cancellable,
                GAsyncReadyCallback   callback,
                gpointer              user_data,
                gpointer              source_tag,
                EipcAsync           **spare)
{
  EipcAsync *self = NULL;
  GSource *current;

  if (spare != NULL)
    self = g_steal_pointer (spare);
  if (self == NULL)
    self = g_object_new (EIPC_TYPE_ASYNC, NULL);
  self->spare = spare;
  self->source_object = source_object != NULL ? g_object_ref (source_object) : NULL;
  self->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;
  self->callback = callback;
  self->user_data = user_data;
  self->source_tag = source_tag;
  self->context = g_main_context_ref_thread_default ();
  current = g_main_current_source ();
  if (current != NULL)
    self->creation_time = g_source_get_time (current);
  return self;
}

/* g_task_is_valid() and the source tag check of a _finish. */
gboolean
eipc_async_is_valid (gpointer  result,
                     gpointer  source_object,
                     gpointer  source_tag)
{
  EipcAsync *self;

  if (!EIPC_IS_ASYNC (result))
    return FALSE;
  self = result;
  return self->source_object == source_object && self->source_tag == source_tag;
}

static void
async_return_now (EipcAsync *self)
{
  GMainContext *current = g_main_context_get_thread_default ();
  gboolean push;

  /* GTask makes the task's context the thread-default one around the
   * callback; when it is already (the usual case), pushing it again
   * changes nothing but costs two GQueue operations and a lock. */
  if (current == NULL)
    current = g_main_context_default ();
  push = current != self->context;
  if (push)
    g_main_context_push_thread_default (self->context);
  /* Plain casts here and in async_release(): a GObject type check costs
   * 70-120 instructions, and these run on every invoke. */
  if (self->callback != NULL)
    self->callback (self->source_object, (GAsyncResult *) self, self->user_data);
  if (push)
    g_main_context_pop_thread_default (self->context);
}

static gboolean
async_return_idle (gpointer data)
{
  async_return_now (data);
  return G_SOURCE_REMOVE;
}

/* Runs the callback now if that is what GTask would do: from a source of
 * the call's context, in a later iteration than the start, not
 * cancelled; else from an idle source of that context. */
static void
async_return (EipcAsync *self)
{
  GSource *current = g_main_current_source ();
  GSource *idle;

  g_return_if_fail (!self->returned);
  self->returned = TRUE;
  if (current != NULL && g_source_get_context (current) == self->context &&
      g_source_get_time (current) > self->creation_time &&
      !g_cancellable_is_cancelled (self->cancellable))
    {
      g_object_ref (self);
      async_return_now (self);
      g_object_unref (self);
      return;
    }

  idle = g_idle_source_new ();
  g_source_set_priority (idle, G_PRIORITY_DEFAULT);
  g_source_set_static_name (idle, "[eipc] call return");
  g_source_set_callback (idle, async_return_idle, g_object_ref (self),
                         g_object_unref);
  g_source_attach (idle, self->context);
  g_source_unref (idle);
}

/* Drops the caller's reference to @self (taken). If that was the only
 * one and nothing hangs on the object (no qdata: weak references, toggle
 * references, set_data), it is cleared and kept in its spare slot for
 * the next call, if that is empty; else unreffed. */
static void
async_release (EipcAsync *self)
{
  GObject *object = (GObject *) self;
  GObject *source_object;

  if (self->spare == NULL || *self->spare != NULL ||
      g_atomic_int_get (&object->ref_count) != 1 || object->qdata != NULL)
    {
      g_object_unref (self);
      return;
    }
  /* The slot belongs to the source object, held until the last line:
   * dropping it may finalize the owner, which unrefs the spare. */
  source_object = g_steal_pointer (&self->source_object);
  *self->spare = self;
  async_clear (self);
  g_clear_object (&source_object);
}

/* The result, once: the reply, or NULL with @error set. A cancelled
 * cancellable wins over a result, as with GTask. */
static sd_bus_message *
async_propagate_reply (EipcAsync  *self,
                       GError    **error)
{
  g_return_val_if_fail (self->returned, NULL);
  if (g_cancellable_set_error_if_cancelled (self->cancellable, error))
    return NULL;
  if (self->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->error));
      return NULL;
    }
  return g_steal_pointer (&self->reply);
}

/* --- A call's task: a GTask or an EipcAsync ----------------------------- */

static inline gboolean
task_is_async (gpointer task)
{
  return G_TYPE_FROM_INSTANCE (task) == async_type;
}

static EipcCall *
task_get_call (gpointer task)
{
  if (task_is_async (task))
    return ((EipcAsync *) task)->call;
  return g_task_get_task_data (task);
}

static void
task_set_call (gpointer  task,
               EipcCall *call)
{
  if (task_is_async (task))
    {
      g_assert (((EipcAsync *) task)->call == NULL);
      ((EipcAsync *) task)->call = call;
    }
  else
    g_task_set_task_data (task, call, call_free);
}

/* A zeroed block of @size for the call of @task. */
static EipcCall *
call_block_new (gpointer task,
                gsize    size)
{
  EipcAsync *self;

  if (!task_is_async (task))
    return g_malloc0 (size);
  self = task;
  g_assert (self->call == NULL);
  if (self->call_block_size < size)
    {
      g_free (self->call_block);
      self->call_block = g_malloc (size);
      self->call_block_size = size;
    }
  memset (self->call_block, 0, size);
  return self->call_block;
}

static GCancellable *
task_get_cancellable (gpointer task)
{
  if (task_is_async (task))
    return ((EipcAsync *) task)->cancellable;
  return g_task_get_cancellable (task);
}

static GMainContext *
task_get_context (gpointer task)
{
  if (task_is_async (task))
    return ((EipcAsync *) task)->context;
  return g_task_get_context (task);
}

static void
message_unref (gpointer data)
{
  sd_bus_message_unref (data);
}

/* g_task_return_error() */
void
eipc_call_return_error (gpointer  task,
                        GError   *error)
{
  if (task_is_async (task))
    {
      EipcAsync *self = task;

      g_assert (self->error == NULL && self->reply == NULL);
      self->error = error;
      async_return (self);
    }
  else
    g_task_return_error (task, error);
}

/* g_task_return_pointer() of a reply (taken), or g_task_return_boolean()
 * with none. */
static void
task_return_reply (gpointer        task,
                   sd_bus_message *reply)
{
  if (task_is_async (task))
    {
      EipcAsync *self = task;

      g_assert (self->error == NULL && self->reply == NULL);
      self->reply = reply;
      async_return (self);
    }
  else if (reply == NULL)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_pointer (task, reply, message_unref);
}

static gboolean
task_return_error_if_cancelled (gpointer task)
{
  GError *error = NULL;

  if (!task_is_async (task))
    return g_task_return_error_if_cancelled (task);
  if (!g_cancellable_set_error_if_cancelled (task_get_cancellable (task), &error))
    return FALSE;
  eipc_call_return_error (task, error);
  return TRUE;
}

/* Ends the call: forgets its serial, timer and pending entry; the caller
 * then returns the task. Returns FALSE if the call had ended already. */
static gboolean
call_end (gpointer task)
{
  EipcCall *call = task_get_call (task);
  GCancellable *cancellable = task_get_cancellable (task);

  if (call->cookie == 0)
    return FALSE;
  g_hash_table_remove (call->calls->by_cookie, &call->cookie);
  call->cookie = 0;
  if (call->timeout != NULL)
    {
      g_source_destroy (call->timeout);
      g_clear_pointer (&call->timeout, g_source_unref);
    }
  if (call->cancelled_id != 0)
    {
      g_cancellable_disconnect (cancellable, call->cancelled_id);
      call->cancelled_id = 0;
    }
  /* Drops the pending set's reference; the caller holds its own. */
  if (call->prev != NULL)
    call->prev->next = call->next;
  else
    call->pending->head = call->next;
  if (call->next != NULL)
    call->next->prev = call->prev;
  else
    call->pending->tail = call->prev;
  call->prev = call->next = NULL;
  call->task = NULL;
  g_object_unref (task);
  return TRUE;
}

/* The validator speaks of arguments; a result that is not JSON says so. */
static void
result_error (GError  *local_error,
              GError **error)
{
  if (g_str_has_prefix (local_error->message, "The arguments are "))
    {
      char *message = g_strconcat ("The result is ",
                                   local_error->message + strlen ("The arguments are "),
                                   NULL);

      g_free (local_error->message);
      local_error->message = message;
    }
  g_propagate_error (error, local_error);
}

/* Parses a result (of an invoke or a sendSync) in one pass. The tree is
 * the caller's alone, so it is not sealed: sealing hashes every string
 * in it (about 8 instructions per byte) for a tree nobody else sees. */
JsonNode *
eipc_result_parse (const char  *text,
                   GError     **error)
{
  GError *local_error = NULL;
  JsonNode *node = eipc_json_parse_unsealed (text, &local_error);

  if (node == NULL)
    result_error (local_error, error);
  return node;
}

/* Whether @reply may answer a call that went to @peer: from @peer itself,
 * or an error from the bus driver (no such name, the peer left without
 * answering, a bus limit). dbus-daemon sets every sender itself, so
 * neither can be claimed by another client. */
static gboolean
reply_is_from (sd_bus_message *reply,
               const char     *peer)
{
  const char *sender = sd_bus_message_get_sender (reply);

  if (sender == NULL)
    return FALSE;
  if (strcmp (sender, peer) == 0)
    return TRUE;
  return strcmp (sender, DBUS_DRIVER) == 0 &&
         sd_bus_message_is_method_error (reply, NULL);
}

static void
set_forged_error (GError    **error,
                  const char *forger,
                  const char *peer)
{
  g_set_error (error, EIPC_ERROR, EIPC_ERROR_FORGED_REPLY,
               "A reply to this call came from %s, not from %s that the call "
               "went to: it was refused as forged, and the call failed",
               forger != NULL ? forger : "(no sender)", peer);
}

static void
log_forged (sd_bus_message *reply,
            const char     *peer)
{
  const char *forger = sd_bus_message_get_sender (reply);
  uint64_t cookie = 0;

  sd_bus_message_get_reply_cookie (reply, &cookie);
  g_message ("eipc: refused a forged reply from %s to call %" G_GUINT64_FORMAT
             " (sent to %s)", forger != NULL ? forger : "(no sender)",
             (guint64) cookie, peer);
}

/* Returns @task with what @reply says; the call has ended. */
static void
call_return (gpointer        task,
             sd_bus_message *reply)
{
  EipcCall *call = task_get_call (task);
  const sd_bus_error *error = sd_bus_message_get_error (reply);
  g_autoptr(GError) local_error = NULL;

  if (!reply_is_from (reply, call->peer))
    {
      set_forged_error (&local_error, sd_bus_message_get_sender (reply),
                        call->peer);
      eipc_call_return_error (task, g_steal_pointer (&local_error));
      return;
    }
  if (error != NULL)
    {
      eipc_set_error_from_bus_error (&local_error, error, -EIO);
      eipc_call_return_error (task, g_steal_pointer (&local_error));
      return;
    }

  switch (call->result)
    {
    case EIPC_CALL_RESULT_NONE:
      task_return_reply (task, NULL);
      return;
    case EIPC_CALL_RESULT_MESSAGE:
      task_return_reply (task, sd_bus_message_ref (reply));
      return;
    case EIPC_CALL_RESULT_JSON:
    default:
      break;
    }

  if (sd_bus_message_has_signature (reply, "s") <= 0)
    {
      eipc_call_return_error (task, g_error_new (EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                                                 "The reply is not (s) but (%s)",
                                                 sd_bus_message_get_signature (reply, TRUE)));
      return;
    }
  /* The task holds the reply; the caller's _finish reads it once and
   * decides whether the text becomes a JsonNode tree or stays text, and
   * checks it once. */
  task_return_reply (task, sd_bus_message_ref (reply));
}

/* A deferred completion: the GSource runs it after sd_bus_process(). An
 * EipcAsync that nobody kept is reused by the next call. */
static void
call_return_deferred (gpointer        data,
                      sd_bus_message *reply)
{
  call_return (data, reply);
  if (task_is_async (data))
    async_release (data);
  else
    g_object_unref (data);
}

static void
calls_fail_all_tasks (EipcCalls    *self,
                      const GError *error)
{
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->by_cookie);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (tasks, g_object_ref (value));
  for (guint i = 0; i < tasks->len; i++)
    {
      gpointer task = g_ptr_array_index (tasks, i);

      if (call_end (task))
        eipc_call_return_error (task, g_error_copy (error));
    }
}

static int
calls_filter (sd_bus_message *m,
              void           *userdata,
              sd_bus_error   *ret_error)
{
  EipcCalls *self = userdata;
  const char *destination, *unique_name = NULL;
  uint64_t cookie = 0;
  gpointer task;
  EipcCall *call;

  uint8_t type = 0;

  if (sd_bus_message_get_type (m, &type) < 0)
    return 0;
  if (type != SD_BUS_MESSAGE_METHOD_RETURN && type != SD_BUS_MESSAGE_METHOD_ERROR)
    {
      /* Not a reply. The connection closing fails what is in flight. */
      if (type == SD_BUS_MESSAGE_SIGNAL &&
          sd_bus_message_is_signal (m, "org.freedesktop.DBus.Local",
                                    "Disconnected"))
        {
          g_autoptr(GError) error =
            g_error_new_literal (EIPC_ERROR, EIPC_ERROR_DISCONNECTED,
                                 "The bus connection closed before the "
                                 "call was answered");
          calls_fail_all_tasks (self, error);
        }
      return 0;
    }
  if (sd_bus_message_get_reply_cookie (m, &cookie) < 0)
    return 0;

  /* A reply to someone else (seen by eavesdropping) is none of ours. */
  destination = sd_bus_message_get_destination (m);
  if (destination != NULL && sd_bus_get_unique_name (self->bus, &unique_name) >= 0 &&
      strcmp (destination, unique_name) != 0)
    return 0;

  if (self->blocking_cookie != 0 && cookie == self->blocking_cookie)
    {
      if (reply_is_from (m, self->blocking_peer))
        self->blocking_reply = sd_bus_message_ref (m);
      else
        {
          log_forged (m, self->blocking_peer);
          self->blocking_forger = g_strdup (sd_bus_message_get_sender (m));
          if (self->blocking_forger == NULL)
            self->blocking_forger = g_strdup ("(no sender)");
        }
      self->blocking_cookie = 0;
      return 1;
    }

  task = g_hash_table_lookup (self->by_cookie, &cookie);
  if (task == NULL)
    return 0;
  call = task_get_call (task);
  if (!reply_is_from (m, call->peer))
    log_forged (m, call->peer);

  g_object_ref (task);
  call_end (task);
  if (self->source != NULL)
    eipc_bus_defer (self->source, call_return_deferred, task, m);
  else
    {
      call_return (task, m);
      g_object_unref (task);
    }
  return 1;
}

/* The calls of one connection: installs the filter that catches their
 * replies. With @source set (eipc_calls_set_source()), completions run
 * from the source, outside sd_bus_process(). */
EipcCalls *
eipc_calls_new (sd_bus *bus)
{
  EipcCalls *self = g_new0 (EipcCalls, 1);
  int r;

  self->bus = sd_bus_ref (bus);
  self->by_cookie = g_hash_table_new (g_int64_hash, g_int64_equal);
  r = sd_bus_add_filter (bus, &self->filter_slot, calls_filter, self);
  /* Only -ENOMEM can fail here; GLib aborts on that elsewhere too. */
  g_assert (r >= 0);
  return self;
}

void
eipc_calls_set_source (EipcCalls *self,
                       GSource   *source)
{
  self->source = source;
}

void
eipc_calls_free (EipcCalls *self)
{
  g_autoptr(GError) error = NULL;

  if (self == NULL)
    return;
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The object that made the call was disposed");
  calls_fail_all_tasks (self, error);
  g_clear_pointer (&self->filter_slot, sd_bus_slot_unref);
  g_hash_table_unref (self->by_cookie);
  sd_bus_unref (self->bus);
  g_free (self);
}

static void
call_cancelled (GCancellable *cancellable,
                gpointer      user_data)
{
  g_autoptr(GObject) task = g_object_ref (user_data);

  /* The handler id is cleared first: disconnecting from inside the
   * handler would deadlock. A reply that still comes finds no call. */
  task_get_call (task)->cancelled_id = 0;
  if (call_end (task))
    eipc_call_return_error (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                       "The call was cancelled"));
}

static gboolean
call_timed_out (gpointer user_data)
{
  g_autoptr(GObject) task = g_object_ref (user_data);

  if (call_end (task))
    eipc_call_return_error (task, g_error_new_literal (EIPC_ERROR, EIPC_ERROR_TIMEOUT,
                                                       "Method call timed out"));
  return G_SOURCE_REMOVE;
}

EipcCallSet *
eipc_call_pending_new (void)
{
  return g_new0 (EipcCallSet, 1);
}

/* Every call has ended by now: each holds its task, which holds the
 * set's owner. */
void
eipc_call_pending_free (EipcCallSet *pending)
{
  if (pending == NULL)
    return;
  g_assert (pending->head == NULL);
  g_free (pending);
}

static guint64
calls_default_timeout (EipcCalls *self)
{
  uint64_t usec = 0;

  if (sd_bus_get_method_call_timeout (self->bus, &usec) < 0 || usec == 0)
    usec = 25 * G_USEC_PER_SEC;
  return usec;
}

/* Sends @message and returns @task when the reply comes, the call fails,
 * its cancellable fires, @timeout_usec passes (0: sd-bus's default of
 * 25 s; UINT64_MAX: never), or eipc_call_fail_all() ends it.
 * The message's destination must be a unique name (or the bus driver):
 * only that name may answer. */
void
eipc_call_start (EipcCalls       *calls,
                 sd_bus_message  *message,
                 gpointer         task,
                 EipcCallResult   result,
                 guint64          timeout_usec,
                 EipcCallSet     *pending)
{
  GCancellable *cancellable = task_get_cancellable (task);
  const char *peer = sd_bus_message_get_destination (message);
  EipcCall *call;
  uint64_t cookie = 0;
  size_t peer_size;
  int r;

  /* The bus made it a valid name when it was set: only its kind is
   * checked here, for every call. */
  g_assert (peer != NULL && (peer[0] == ':' || strcmp (peer, DBUS_DRIVER) == 0));

  if (task_return_error_if_cancelled (task))
    return;

  /* The call and a copy of its peer in one block (sending may move the
   * message's header fields): one allocation per call, none for an
   * EipcAsync's, whose block is used again. */
  peer_size = strlen (peer) + 1;
  call = call_block_new (task, sizeof (EipcCall) + peer_size);
  memcpy (call->peer, peer, peer_size);

  r = sd_bus_send (calls->bus, message, &cookie);
  if (r < 0)
    {
      g_autoptr(GError) error = NULL;

      if (!task_is_async (task))
        g_free (call);
      eipc_set_error_from_errno (&error, r, "Cannot send the call");
      eipc_call_return_error (task, g_steal_pointer (&error));
      return;
    }

  call->calls = calls;
  call->cookie = cookie;
  call->pending = pending;
  call->result = result;
  task_set_call (task, call);

  g_hash_table_insert (calls->by_cookie, &call->cookie, task);
  call->task = g_object_ref (task);
  call->prev = pending->tail;
  if (pending->tail != NULL)
    pending->tail->next = call;
  else
    pending->head = call;
  pending->tail = call;

  if (timeout_usec == 0)
    timeout_usec = calls_default_timeout (calls);
  if (timeout_usec != G_MAXUINT64)
    {
      call->timeout = g_timeout_source_new ((guint) MIN ((timeout_usec + 999) / 1000,
                                                         G_MAXUINT));
      g_source_set_static_name (call->timeout, "[eipc] call timeout");
      g_source_set_callback (call->timeout, call_timed_out, task, NULL);
      g_source_attach (call->timeout, task_get_context (task));
    }

  if (cancellable != NULL)
    call->cancelled_id = g_cancellable_connect (cancellable,
                                                G_CALLBACK (call_cancelled),
                                                task, NULL);
}

/* Ends every call in @pending with @error, at once. */
void
eipc_call_fail_all (EipcCallSet  *pending,
                    const GError *error)
{
  g_autoptr(GPtrArray) tasks = g_ptr_array_new_with_free_func (g_object_unref);

  /* Oldest first; a task's callback may start or end other calls. */
  for (EipcCall *call = pending->head; call != NULL; call = call->next)
    g_ptr_array_add (tasks, g_object_ref (call->task));
  for (guint i = 0; i < tasks->len; i++)
    {
      gpointer task = g_ptr_array_index (tasks, i);

      if (call_end (task))
        eipc_call_return_error (task, g_error_copy (error));
    }
}

/* The reply of a blocking call, checked: used when the call is made from
 * inside sd_bus_process() (a callback that was not deferred), where
 * sd_bus_process() cannot run again. sd_bus_call() then matches the reply
 * by serial; a forged method return is still refused here, but a forged
 * error cannot be told from a real one. */
static gboolean
calls_call_nested (EipcCalls       *self,
                   sd_bus_message  *message,
                   const char      *peer,
                   guint64          timeout_usec,
                   sd_bus_message **ret_reply,
                   GError         **error)
{
  g_autoptr(sd_bus_message) reply = NULL;
  g_auto(sd_bus_error) bus_error = SD_BUS_ERROR_NULL;
  int r;

  g_debug ("eipc: a blocking call from inside sd_bus_process(): only its "
           "method return can be checked for forgery");
  r = sd_bus_call (self->bus, message, timeout_usec, &bus_error, &reply);
  if (r < 0 && !sd_bus_is_open (self->bus))
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED,
                   "The bus connection closed before %s answered (%s)",
                   peer, g_strerror (-r));
      return FALSE;
    }
  if (r < 0)
    {
      eipc_set_error_from_bus_error (error, &bus_error, r);
      return FALSE;
    }
  if (!reply_is_from (reply, peer))
    {
      log_forged (reply, peer);
      set_forged_error (error, sd_bus_message_get_sender (reply), peer);
      return FALSE;
    }
  *ret_reply = g_steal_pointer (&reply);
  return TRUE;
}

static gboolean
calls_call_blocking (EipcCalls       *self,
                     sd_bus_message  *message,
                     const char      *peer,
                     guint64          timeout_usec,
                     sd_bus_message **ret_reply,
                     GError         **error)
{
  g_autoptr(sd_bus_message) reply = NULL;
  g_autofree char *forger = NULL;
  uint64_t cookie = 0;
  gint64 deadline;
  int r;

  g_assert (self->blocking_cookie == 0);
  if (timeout_usec == 0)
    timeout_usec = calls_default_timeout (self);
  deadline = g_get_monotonic_time () + (gint64) MIN (timeout_usec, G_MAXINT64 / 2);

  r = sd_bus_send (self->bus, message, &cookie);
  if (r < 0)
    {
      eipc_set_error_from_errno (error, r, "Cannot send the call");
      return FALSE;
    }

  /* sd_bus_process() hands every other message to its callbacks, which
   * defer what would run application code (eipc_bus_defer()), so
   * nothing else is dispatched while the thread blocks; the filter
   * takes the reply. */
  self->blocking_cookie = cookie;
  self->blocking_peer = peer;
  /* The reply cannot have come yet: poll first (sd_bus_wait() returns at
   * once if messages wait in sd-bus's queue), not a read that would only
   * fail with EAGAIN. One syscall less per call. */
  r = 0;
  for (gboolean read_first = FALSE;; read_first = TRUE)
    {
      gint64 now;

      if (read_first)
        {
          r = sd_bus_process (self->bus, NULL);
          if (self->blocking_reply != NULL || self->blocking_forger != NULL)
            break;
          if (r < 0)
            break;
          if (r > 0)
            continue;
        }
      now = g_get_monotonic_time ();
      if (now >= deadline)
        {
          r = -ETIMEDOUT;
          break;
        }
      /* A signal handler that ran meanwhile (EINTR) is no reason to
       * stop waiting: the loop goes on to the deadline. */
      r = sd_bus_wait (self->bus, (uint64_t) (deadline - now));
      if (r < 0 && r != -EINTR)
        break;
    }
  self->blocking_cookie = 0;
  self->blocking_peer = NULL;
  reply = g_steal_pointer (&self->blocking_reply);
  forger = g_steal_pointer (&self->blocking_forger);

  if (forger != NULL)
    {
      set_forged_error (error, forger, peer);
      return FALSE;
    }
  if (reply == NULL && r == -ETIMEDOUT)
    {
      /* The text sd_bus_call() gave. */
      g_set_error_literal (error, EIPC_ERROR, EIPC_ERROR_TIMEOUT,
                           g_strerror (ETIMEDOUT));
      return FALSE;
    }
  if (reply == NULL)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_DISCONNECTED,
                   "The bus connection closed before %s answered (%s)",
                   peer, g_strerror (r < 0 ? -r : EIO));
      return FALSE;
    }
  if (sd_bus_message_is_method_error (reply, NULL))
    {
      eipc_set_error_from_bus_error (error, sd_bus_message_get_error (reply),
                                     -EIO);
      return FALSE;
    }
  *ret_reply = g_steal_pointer (&reply);
  return TRUE;
}

/* Sends @message and waits for its reply without dispatching anything
 * else, accepting the reply only from the message's destination (a
 * unique name, or the bus driver). @timeout_usec 0 means sd-bus's
 * default. A POSIX signal that arrives meanwhile does not break the
 * call: eipc's own wait goes on after EINTR, and around sd_bus_call()
 * (from inside sd_bus_process(), which fails with EINTR after sending)
 * asynchronous signals are held, to be delivered when the call returns;
 * holding them always would cost two syscalls per call. Returns the method return in
 * @ret_reply, or FALSE with @error set (a D-Bus error reply becomes its
 * code; %EIPC_ERROR_FORGED_REPLY, %EIPC_ERROR_TIMEOUT,
 * %EIPC_ERROR_DISCONNECTED). */
gboolean
eipc_calls_call_blocking (EipcCalls       *self,
                          sd_bus_message  *message,
                          guint64          timeout_usec,
                          sd_bus_message **ret_reply,
                          GError         **error)
{
  /* A copy: sending may move the message's header fields. On the
   * stack: a bus name has at most 255 bytes. */
  const char *destination = sd_bus_message_get_destination (message);
  char peer[256];
  sigset_t all, saved;
  gboolean ok;

  g_assert (destination != NULL &&
            (g_dbus_is_unique_name (destination) || strcmp (destination, DBUS_DRIVER) == 0));
  if (g_strlcpy (peer, destination, sizeof peer) >= sizeof peer)
    g_assert_not_reached ();

  if (sd_bus_get_current_message (self->bus) == NULL)
    return calls_call_blocking (self, message, peer, timeout_usec, ret_reply, error);

  sigfillset (&all);
  sigdelset (&all, SIGSEGV);
  sigdelset (&all, SIGBUS);
  sigdelset (&all, SIGFPE);
  sigdelset (&all, SIGILL);
  sigdelset (&all, SIGTRAP);
  sigdelset (&all, SIGABRT);
  sigdelset (&all, SIGSYS);
  pthread_sigmask (SIG_BLOCK, &all, &saved);
  ok = calls_call_nested (self, message, peer, timeout_usec, ret_reply, error);
  pthread_sigmask (SIG_SETMASK, &saved, NULL);
  return ok;
}

/* The reply of a finished EIPC_CALL_RESULT_JSON call, and its text:
 * read here, once, not when it came (call_done() checked its signature). */
static sd_bus_message *
call_propagate_reply (gpointer     task,
                      const char **text,
                      GError     **error)
{
  g_autoptr(sd_bus_message) reply = NULL;
  int r;

  if (task_is_async (task))
    reply = async_propagate_reply (task, error);
  else
    reply = g_task_propagate_pointer (task, error);

  if (reply == NULL)
    return NULL;
  /* _basic: no signature walk. */
  r = sd_bus_message_read_basic (reply, 's', text);
  if (r <= 0)
    {
      g_set_error (error, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                   "The reply is not (s): %s", g_strerror (r < 0 ? -r : ENXIO));
      return NULL;
    }
  return g_steal_pointer (&reply);
}

/* Finishes an EIPC_CALL_RESULT_JSON call with its result as a tree: one
 * pass checks and parses it; the tree is the caller's alone, so it is not
 * sealed. */
JsonNode *
eipc_call_finish_node (gpointer  task,
                       GError  **error)
{
  g_autoptr(sd_bus_message) reply = NULL;
  const char *text = NULL;

  reply = call_propagate_reply (task, &text, error);
  if (reply == NULL)
    return NULL;
  return eipc_result_parse (text, error);
}

/* Finishes an EIPC_CALL_RESULT_JSON call with its result as text: it is
 * checked, never parsed into a tree. */
char *
eipc_call_finish_text (gpointer  task,
                       GError  **error)
{
  g_autoptr(sd_bus_message) reply = NULL;
  GError *local_error = NULL;
  const char *text = NULL;

  reply = call_propagate_reply (task, &text, error);
  if (reply == NULL)
    return NULL;
  if (!eipc_json_check (text, FALSE, &local_error))
    {
      result_error (local_error, error);
      return NULL;
    }
  return g_strdup (text);
}
