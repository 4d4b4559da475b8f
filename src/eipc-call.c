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

/* A call in flight costs no allocation of its own: its GTask is a key of
 * the owner's pending table, with the call's sd-bus slot as the value,
 * and the table is the task's data. Only a call with a GCancellable
 * keeps one more thing, its handler id, as qdata of the task. */

static GQuark
cancelled_id_quark (void)
{
  static GQuark quark;

  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("eipc-call-cancelled-id");
  return quark;
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

static void
message_unref (gpointer data)
{
  sd_bus_message_unref (data);
}

/* Ends the call: forgets the slot and the pending entry; the caller then
 * returns the task. Returns FALSE if the call had ended already. */
static gboolean
call_end (GTask *task)
{
  GHashTable *pending = g_task_get_task_data (task);
  gpointer slot = NULL;
  gulong cancelled_id;

  if (!g_hash_table_steal_extended (pending, task, NULL, &slot))
    return FALSE;
  sd_bus_slot_unref (slot);
  cancelled_id = (gulong) GPOINTER_TO_SIZE (g_object_get_qdata (G_OBJECT (task),
                                                                cancelled_id_quark ()));
  if (cancelled_id != 0)
    {
      g_object_set_qdata (G_OBJECT (task), cancelled_id_quark (), NULL);
      g_cancellable_disconnect (g_task_get_cancellable (task), cancelled_id);
    }
  /* The pending table's reference; the caller holds its own. */
  g_object_unref (task);
  return TRUE;
}

static int
call_done (sd_bus_message *reply,
           GTask          *task,
           EipcCallResult  result)
{
  /* Every return is 1, "handled": with 0, sd-bus would go on to run the
   * reply through the match rules and the object tree too, which costs
   * about 3,000 instructions per reply and finds nothing. */
  const sd_bus_error *error = sd_bus_message_get_error (reply);
  g_autoptr(GError) local_error = NULL;

  g_object_ref (task);
  if (!call_end (task))
    {
      g_object_unref (task);
      return 1;
    }

  /* sd-bus ends the calls of a connection that closes with its own
   * NoReply "Connection terminated", which would read as a timeout. */
  if (error != NULL && !sd_bus_is_open (sd_bus_message_get_bus (reply)))
    g_task_return_new_error (task, EIPC_ERROR, EIPC_ERROR_DISCONNECTED,
                             "The bus connection closed before the call "
                             "was answered");
  else if (error != NULL)
    {
      eipc_set_error_from_bus_error (&local_error, error, -EIO);
      g_task_return_error (task, g_steal_pointer (&local_error));
    }
  else if (result == EIPC_CALL_RESULT_NONE)
    g_task_return_boolean (task, TRUE);
  else if (sd_bus_message_has_signature (reply, "s") <= 0)
    g_task_return_new_error (task, EIPC_ERROR, EIPC_ERROR_INVALID_ARGS,
                             "The reply is not (s) but (%s)",
                             sd_bus_message_get_signature (reply, TRUE));
  else
    {
      /* The task holds the reply; the caller's _finish reads it once and
       * decides whether the text becomes a JsonNode tree or stays text,
       * and checks it once. */
      g_task_return_pointer (task, sd_bus_message_ref (reply), message_unref);
    }
  g_object_unref (task);
  return 1;
}

static int
call_done_none (sd_bus_message *reply,
                void           *userdata,
                sd_bus_error   *ret_error)
{
  return call_done (reply, userdata, EIPC_CALL_RESULT_NONE);
}

static int
call_done_json (sd_bus_message *reply,
                void           *userdata,
                sd_bus_error   *ret_error)
{
  return call_done (reply, userdata, EIPC_CALL_RESULT_JSON);
}

static void
call_cancelled (GCancellable *cancellable,
                gpointer      user_data)
{
  g_autoptr(GTask) task = g_object_ref (user_data);

  /* Unref'ing the slot cancels the call inside sd-bus. The handler id is
   * cleared first: disconnecting from inside the handler would deadlock. */
  g_object_set_qdata (G_OBJECT (task), cancelled_id_quark (), NULL);
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
  sd_bus_slot *slot = NULL;
  gulong cancelled_id;
  int r;

  if (g_task_return_error_if_cancelled (task))
    return;

  r = sd_bus_call_async (bus, &slot, message,
                         result == EIPC_CALL_RESULT_NONE ? call_done_none : call_done_json,
                         task, timeout_usec);
  if (r < 0)
    {
      g_autoptr(GError) error = NULL;

      eipc_set_error_from_errno (&error, r, "Cannot send the call");
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_set_task_data (task, pending, NULL);
  g_hash_table_insert (pending, g_object_ref (task), slot);
  if (cancellable != NULL)
    {
      /* 0 when it is cancelled already: call_cancelled() has run. */
      cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (call_cancelled),
                                            task, NULL);
      if (cancelled_id != 0)
        g_object_set_qdata (G_OBJECT (task), cancelled_id_quark (),
                            GSIZE_TO_POINTER ((gsize) cancelled_id));
    }
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

/* The reply of a finished EIPC_CALL_RESULT_JSON call, and its text:
 * read here, once, not when it came (call_done() checked its signature). */
static sd_bus_message *
call_propagate_reply (GTask       *task,
                      const char **text,
                      GError     **error)
{
  g_autoptr(sd_bus_message) reply = g_task_propagate_pointer (task, error);
  int r;

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
