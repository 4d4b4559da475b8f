/* eipc-call.c: an asynchronous method call behind a GTask
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Used by invoke in both directions and by the routed sends. Each call
 * keeps its own sd-bus slot: unref'ing it cancels the call, which is how
 * a GCancellable, or the peer going away, ends it at once.
 */

#include "config.h"

#include <errno.h>
#include <string.h>

#include "eipc-private.h"

typedef struct {
  sd_bus_slot    *slot;
  GHashTable     *pending;     /* the owner's set of calls in flight */
  gulong          cancelled_id;
  EipcCallResult  result;
} EipcCall;

static void
call_free (gpointer data)
{
  EipcCall *call = data;

  g_assert (call->slot == NULL);
  g_free (call);
}

/* Ends the call: forgets the slot and the pending entry; the caller then
 * returns the task. Returns FALSE if the call had ended already. */
static gboolean
call_end (GTask *task)
{
  EipcCall *call = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (call->slot == NULL)
    return FALSE;
  g_clear_pointer (&call->slot, sd_bus_slot_unref);
  if (call->cancelled_id != 0)
    {
      g_cancellable_disconnect (cancellable, call->cancelled_id);
      call->cancelled_id = 0;
    }
  /* Drops the pending set's reference; the caller holds its own. */
  g_hash_table_remove (call->pending, task);
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

/* Parses a result (of an invoke or a sendSync) in one pass. */
JsonNode *
eipc_result_parse (const char  *text,
                   GError     **error)
{
  GError *local_error = NULL;
  JsonNode *node = eipc_json_parse (text, &local_error);

  if (node == NULL)
    result_error (local_error, error);
  return node;
}

static void
message_unref (gpointer data)
{
  sd_bus_message_unref (data);
}

static int call_read_result (sd_bus_message  *reply,
                             const char     **text);

static int
call_done (sd_bus_message *reply,
           void           *userdata,
           sd_bus_error   *ret_error)
{
  /* Every return is 1, "handled": with 0, sd-bus would go on to run the
   * reply through the match rules and the object tree too, which costs
   * about 3,000 instructions per reply and finds nothing. */
  g_autoptr(GTask) task = g_object_ref (userdata);
  EipcCall *call = g_task_get_task_data (task);
  const sd_bus_error *error = sd_bus_message_get_error (reply);
  g_autoptr(GError) local_error = NULL;

  if (!call_end (task))
    return 1;

  /* sd-bus ends the calls of a connection that closes with its own
   * NoReply "Connection terminated", which would read as a timeout. */
  if (error != NULL && !sd_bus_is_open (sd_bus_message_get_bus (reply)))
    {
      g_task_return_new_error (task, EIPC_ERROR, EIPC_ERROR_DISCONNECTED,
                               "The bus connection closed before the call "
                               "was answered");
      return 1;
    }
  if (error != NULL)
    {
      eipc_set_error_from_bus_error (&local_error, error, -EIO);
      g_task_return_error (task, g_steal_pointer (&local_error));
      return 1;
    }

  if (call->result == EIPC_CALL_RESULT_NONE)
    {
      g_task_return_boolean (task, TRUE);
      return 1;
    }

  {
    const char *text = NULL;
    int r = call_read_result (reply, &text);

    if (r < 0)
      {
        g_task_return_new_error (task, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                                 "The reply is not (s): %s", g_strerror (-r));
        return 1;
      }
    /* The task holds the reply; the caller's _finish decides whether the
     * text becomes a JsonNode tree or stays text, and checks it once. */
    g_task_return_pointer (task, sd_bus_message_ref (reply),
                           message_unref);
  }
  return 1;
}

/* The (s) of a reply, from its start. */
static int
call_read_result (sd_bus_message  *reply,
                  const char     **text)
{
  int r;

  r = sd_bus_message_rewind (reply, 1);
  if (r < 0)
    return r;
  /* _basic: no signature walk; 0 (no argument) reads as -ENXIO, as
   * sd_bus_message_read() would have it. */
  r = sd_bus_message_read_basic (reply, 's', text);
  return r == 0 ? -ENXIO : r;
}

/* The reply of a finished EIPC_CALL_RESULT_JSON call, and its text. */
static sd_bus_message *
call_propagate_reply (GTask       *task,
                      const char **text,
                      GError     **error)
{
  sd_bus_message *reply = g_task_propagate_pointer (task, error);

  if (reply != NULL && call_read_result (reply, text) < 0)
    g_assert_not_reached ();   /* call_done read it already */
  return reply;
}

/* Finishes an EIPC_CALL_RESULT_JSON call with its result as a tree: one
 * pass checks and parses it. */
JsonNode *
eipc_call_finish_node (GTask   *task,
                       GError **error)
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
eipc_call_finish_text (GTask   *task,
                       GError **error)
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

static void
call_cancelled (GCancellable *cancellable,
                gpointer      user_data)
{
  g_autoptr(GTask) task = g_object_ref (user_data);

  /* Unref'ing the slot cancels the call inside sd-bus. The handler id is
   * cleared first: disconnecting from inside the handler would deadlock. */
  ((EipcCall *) g_task_get_task_data (task))->cancelled_id = 0;
  if (call_end (task))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "The call was cancelled");
}

GHashTable *
eipc_call_pending_new (void)
{
  return g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
}

/* Sends @message and returns @task when the reply comes, the call fails,
 * its cancellable fires, @timeout_usec passes (0: sd-bus's default of
 * 25 s; UINT64_MAX: never), or eipc_call_fail_all() ends it. */
void
eipc_call_start (sd_bus          *bus,
                 sd_bus_message  *message,
                 GTask           *task,
                 EipcCallResult   result,
                 guint64          timeout_usec,
                 GHashTable      *pending)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  EipcCall *call;
  int r;

  if (g_task_return_error_if_cancelled (task))
    return;

  call = g_new0 (EipcCall, 1);
  call->pending = pending;
  call->result = result;
  g_task_set_task_data (task, call, call_free);

  r = sd_bus_call_async (bus, &call->slot, message, call_done, task,
                         timeout_usec);
  if (r < 0)
    {
      g_autoptr(GError) error = NULL;

      eipc_set_error_from_errno (&error, r, "Cannot send the call");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_hash_table_add (pending, g_object_ref (task));
  if (cancellable != NULL)
    call->cancelled_id = g_cancellable_connect (cancellable,
                                                G_CALLBACK (call_cancelled),
                                                task, NULL);
}

/* Ends every call in @pending with @error, at once. */
void
eipc_call_fail_all (GHashTable   *pending,
                    const GError *error)
{
  g_autofree gpointer *tasks = NULL;
  guint n;

  tasks = g_hash_table_get_keys_as_array (pending, &n);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GTask) task = g_object_ref (tasks[i]);

      if (call_end (task))
        g_task_return_error (task, g_error_copy (error));
    }
}
