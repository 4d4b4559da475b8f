/* eipc-private.h: internals shared by the library's source files
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Layers. Files call downward only: a file may call the functions (and
 * use the type macros) of files in lower layers, never of a file in its
 * own layer or above. tests/check-layers.py reads the lines below and
 * checks every .c file of src/ against them; a new file goes in here first.
 *
 * layer 0: eipc-error.c eipc-render-process-gone.c
 * layer 1: eipc-json.c
 * layer 2: eipc-bus.c
 * layer 3: eipc-emitter.c eipc-call.c eipc-flow.c
 * layer 4: eipc-event.c
 * layer 5: eipc-message-port.c
 * layer 6: eipc-message-channel.c eipc-web-contents.c
 * layer 7: eipc-objects.c eipc-process.c
 * layer 8: eipc-main.c eipc-renderer.c
 *
 * error, json and bus are the leaves (the connection, its GSource, the
 * blocking call). The emitter keeps listeners and handlers for main,
 * renderer and webContents. An event knows its message and the reply and
 * done functions its creator handed it (EipcEventFuncs). A webContents
 * sends everything that goes to one renderer; ports sit above events
 * (their messages are events) and below webContents, main and renderer,
 * which transfer them; the objects of eipc-objects.c
 * get a registry (a lookup of ids), not the main process. Main and
 * renderer sit side by side on top and never call each other.
 */

#pragma once

#include <signal.h>
#include <systemd/sd-bus.h>

#include "eipc.h"

G_BEGIN_DECLS

/* Wire names: introspection/ holds their documentation. */
#define EIPC_MAIN_INTERFACE          "org.eipc.Main1"
#define EIPC_RENDERER_INTERFACE      "org.eipc.Renderer1"
#define EIPC_WEB_CONTENTS_INTERFACE  "org.eipc.WebContents1"
#define EIPC_PORT_INTERFACE          "org.eipc.Port1"
/* A port connection's only object; its messages on the path eipc used
 * before are still taken. */
#define EIPC_PORT_PATH               "/"
#define EIPC_PORT_PATH_BEFORE        "/org/eipc/Port"
#define EIPC_WEB_CONTENTS_SUFFIX     "/WebContents"

/* Limits, documented in docs/api.md. */
#define EIPC_MAX_CHANNEL_LENGTH      4096
#define EIPC_MAX_JSON_DEPTH          512
#define EIPC_MAX_QUEUED_MESSAGES     65536
/* One-way messages a sender has in flight before it waits for the
 * receiver (see eipc_send_window_check in eipc-bus.c). */
#define EIPC_SEND_ACK_EVERY          256
#define EIPC_SEND_WINDOW             4096
#define EIPC_SEND_WINDOW_BYTES       (16 * 1024 * 1024)
#define EIPC_SEND_WINDOW_TIMEOUT_MS  5000
/* The main process's window per peer (see eipc-flow.c): messages and
 * bytes the bus may hold for one peer before the rest wait here. */
#define EIPC_FLOW_WINDOW             1024
#define EIPC_FLOW_WINDOW_BYTES       (128 * 1024)
/* What a message takes beyond its texts (its header). */
#define EIPC_FLOW_MESSAGE_OVERHEAD   128
#define EIPC_FLOW_DEFAULT_TIMEOUT_MS 5000
/* Decoding JSON text of N bytes may take EIPC_DECODE_FACTOR * N +
 * EIPC_DECODE_SLACK bytes at most (eipc-json.c). */
#define EIPC_DECODE_FACTOR           6
#define EIPC_DECODE_SLACK            (4 * 1024 * 1024)

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus, sd_bus_flush_close_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_message, sd_bus_message_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sd_bus_slot, sd_bus_slot_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (sd_bus_error, sd_bus_error_free)

/* eipc-error.c */
void          eipc_set_error_from_errno       (GError             **error,
                                               int                  r,
                                               const char          *what);
void          eipc_set_error_from_bus_error   (GError             **error,
                                               const sd_bus_error  *bus_error,
                                               int                  r);
int           eipc_reply_error                (sd_bus_message      *call,
                                               EipcError            code,
                                               const char          *format,
                                               ...) G_GNUC_PRINTF (3, 4);
int           eipc_reply_gerror               (sd_bus_message      *call,
                                               const GError        *error);

/* eipc-bus.c */
typedef void (*EipcBusClosedFunc) (gpointer user_data);

int           eipc_bus_open                   (const char          *address,
                                               sd_bus             **ret);
void          eipc_bus_hold_signals           (sigset_t            *saved);
void          eipc_bus_release_signals        (const sigset_t      *saved);
gboolean      eipc_bus_check_queue            (sd_bus              *bus,
                                               GError             **error);

/* The bus driver's answers to a connection's AddMatch calls, which are
 * sent asynchronously (sd_bus_add_match_async()) and checked when they
 * come (eipc_match_check_installed()): sd_bus_add_match() would take any
 * reply with the call's serial. */
typedef struct {
  GError      *error;        /* the first refusal or forgery */
} EipcMatchCheck;

void          eipc_match_check_installed      (EipcMatchCheck      *check,
                                               sd_bus_message      *reply);
gboolean      eipc_match_check_result         (EipcMatchCheck      *check,
                                               GError             **error);
void          eipc_match_check_clear          (EipcMatchCheck      *check);

/* One-way messages to one peer, acknowledged in batches. */
typedef struct {
  char        *peer;         /* the unique name the counts are for */
  guint64      sent, acked, ping_mark;
  guint64      sent_bytes, acked_bytes, ping_mark_bytes;
  sd_bus_slot *ping_slot;    /* a ping in flight */
} EipcSendWindow;

/* A blocking call whose reply is checked against the message's
 * destination (eipc_calls_call_blocking(), handed down by its owner). */
typedef gboolean (*EipcBlockingCallFunc) (gpointer         data,
                                          sd_bus_message  *message,
                                          guint64          timeout_usec,
                                          sd_bus_message **reply,
                                          GError         **error);

gboolean      eipc_send_window_check          (EipcSendWindow      *w,
                                               sd_bus              *bus,
                                               const char          *peer,
                                               const char          *peer_role,
                                               EipcBlockingCallFunc call,
                                               gpointer             call_data,
                                               GError             **error);
void          eipc_send_window_sent           (EipcSendWindow      *w,
                                               sd_bus              *bus,
                                               gsize                size);
void          eipc_send_window_clear          (EipcSendWindow      *w);
int           eipc_message_read_strings       (sd_bus_message      *m,
                                               const char         **first,
                                               const char         **second);
int           eipc_reply_string               (sd_bus_message      *call,
                                               const char          *text);
int           eipc_message_append_string      (sd_bus_message      *m,
                                               const char          *s);
int           eipc_message_append_strings     (sd_bus_message      *m,
                                               const char          *first,
                                               const char          *second);
GSource      *eipc_bus_source_new             (sd_bus              *bus,
                                               EipcBusClosedFunc    closed,
                                               gpointer             user_data);
GSource      *eipc_bus_source_new_full        (sd_bus              *bus,
                                               GMainContext        *context,
                                               EipcBusClosedFunc    closed,
                                               EipcBusClosedFunc    dispatched,
                                               gpointer             user_data);
typedef void (*EipcBusWorkFunc) (gpointer data, sd_bus_message *message);
void          eipc_bus_defer                  (GSource             *source,
                                               EipcBusWorkFunc      func,
                                               gpointer             data,
                                               sd_bus_message      *message);
gboolean      eipc_app_id_check               (const char          *app_id,
                                               GError             **error);
char         *eipc_app_id_to_path             (const char          *app_id);
char         *eipc_web_contents_path          (const char          *base_path,
                                               guint64              id);
gboolean      eipc_web_contents_path_parse    (const char          *base_path,
                                               const char          *path,
                                               guint64             *id);

/* eipc-json.c */
gboolean      eipc_channel_check              (const char          *channel,
                                               GError             **error);
gboolean      eipc_json_check                 (const char          *text,
                                               gboolean             want_array,
                                               GError             **error);
gboolean      eipc_json_check_utf8            (const char          *text,
                                               gboolean             want_array);
gboolean      eipc_args_check                 (const char          *args_json,
                                               GError             **error);
char         *eipc_json_array_to_string       (JsonArray           *array);
char         *eipc_json_node_to_string        (JsonNode            *node);
JsonNode     *eipc_json_parse                 (const char          *text,
                                               GError             **error);
JsonNode     *eipc_json_parse_unsealed        (const char          *text,
                                               GError             **error);

/* eipc-emitter.c: the listener lists and handler tables of EipcEmitter;
 * a bare list serves the renderer's host-message listeners. */
typedef struct {
  GHashTable *channels;   /* channel -> GPtrArray of EipcListener */
  GHashTable *by_id;      /* listener id -> EipcListener (unowned) */
} EipcListenerList;

typedef enum {
  EIPC_LISTENER_ONCE    = 1 << 0,
  EIPC_LISTENER_PREPEND = 1 << 1,
} EipcListenerFlags;

void          eipc_listener_list_init         (EipcListenerList    *list);
void          eipc_listener_list_clear        (EipcListenerList    *list);
guint         eipc_listener_list_add          (EipcListenerList    *list,
                                               const char          *channel,
                                               EipcListenerFunc     func,
                                               gpointer             user_data,
                                               GDestroyNotify       destroy,
                                               EipcListenerFlags    flags);
gboolean      eipc_listener_list_remove       (EipcListenerList    *list,
                                               const char          *channel,
                                               EipcListenerFunc     func,
                                               gpointer             user_data);
gboolean      eipc_listener_list_remove_by_id (EipcListenerList    *list,
                                               guint                id);
void          eipc_listener_list_remove_all   (EipcListenerList    *list,
                                               const char          *channel);
guint         eipc_listener_list_count        (EipcListenerList    *list,
                                               const char          *channel);
guint         eipc_listener_list_emit         (EipcListenerList    *list,
                                               const char          *channel,
                                               EipcEvent           *event);

guint         eipc_emitter_emit               (EipcEmitter         *self,
                                               const char          *channel,
                                               EipcEvent           *event);
gboolean      eipc_emitter_dispatch           (EipcEmitter         *self,
                                               const char          *channel,
                                               EipcEvent           *event);
char        **eipc_emitter_handler_channels   (EipcEmitter         *self);

/* eipc-flow.c: what the main process sends to one peer, acknowledged;
 * the bytes one client makes it hold, against its budget. */
typedef struct {
  guint64 used;         /* held for all clients: backlogs, calls */
  guint64 max_client;   /* per client: held for it, and in the bus for it */
  guint64 max_total;    /* for all clients together */
} EipcBudget;

typedef struct _EipcFlow EipcFlow;

typedef struct {
  void (*responsive_changed) (EipcFlow *flow,
                              gboolean  responsive,
                              gpointer  data);
  /* Messages were dropped in an episode that just ended (the backlog
   * drained, or the peer went). */
  void (*dropped)            (EipcFlow *flow,
                              guint64   messages,
                              guint64   bytes,
                              gpointer  data);
} EipcFlowFuncs;

EipcFlow     *eipc_flow_new                   (sd_bus              *bus,
                                               const char          *peer,
                                               EipcBudget          *budget,
                                               GMainContext        *context,
                                               const EipcFlowFuncs *funcs,
                                               gpointer             data);
void          eipc_flow_close                 (EipcFlow            *self);
void          eipc_flow_free                  (EipcFlow            *self);
gboolean      eipc_flow_send                  (EipcFlow            *self,
                                               sd_bus_message      *m,
                                               gsize                size,
                                               GError             **error);
gboolean      eipc_flow_can_send              (EipcFlow            *self,
                                               gsize                size);
void          eipc_flow_count                 (EipcFlow            *self,
                                               gsize                size);
gboolean      eipc_flow_check_direct          (EipcFlow            *self,
                                               gsize                size,
                                               gsize                own,
                                               GError             **error);
gboolean      eipc_flow_hold                  (EipcFlow            *self,
                                               gint64               delta);
guint64       eipc_flow_get_client_bytes      (EipcFlow            *self);
gboolean      eipc_flow_is_unresponsive       (EipcFlow            *self);
void          eipc_flow_set_timeout           (EipcFlow            *self,
                                               guint                timeout_ms);
guint         eipc_flow_get_timeout           (EipcFlow            *self);
gsize         eipc_flow_message_size          (const char          *first,
                                               const char          *second);

/* eipc-event.c: an event answers through what its creator hands it. */
typedef struct {
  /* event.reply: sends @args_json on @channel back to the sender. NULL:
   * the event cannot reply (NOT_ATTACHED). */
  gboolean (*reply) (EipcEvent   *event,
                     const char  *channel,
                     const char  *args_json,
                     gpointer     data,
                     GError     **error);
  /* An invoke or sendSync was answered (TRUE) or dropped unanswered
   * (FALSE, the caller got an error): called once. When dropped it is
   * called from the event's finalize: it must not take a reference. */
  void     (*done)  (EipcEvent   *event,
                     gboolean     answered,
                     gpointer     data);
  /* An answer of @size bytes is about to go to the caller: FALSE with
   * @error set sends that error instead. NULL: every answer goes. */
  gboolean (*may_answer) (EipcEvent   *event,
                          gsize        size,
                          gpointer     data,
                          GError     **error);
} EipcEventFuncs;

EipcEvent    *eipc_event_new                  (EipcEventKind        kind,
                                               sd_bus_message      *message,
                                               const char          *channel,
                                               const char          *args_json,
                                               guint64              sender_id,
                                               EipcWebContents     *sender,
                                               guint32              process_id,
                                               const EipcEventFuncs *funcs,
                                               gpointer             data,
                                               GDestroyNotify       data_free);
EipcEvent    *eipc_event_take                 (EipcEvent          **spare,
                                               EipcEventKind        kind,
                                               sd_bus_message      *message,
                                               const char          *channel,
                                               const char          *args_json,
                                               guint64              sender_id,
                                               EipcWebContents     *sender,
                                               guint32              process_id,
                                               const EipcEventFuncs *funcs,
                                               gpointer             data,
                                               GDestroyNotify       data_free);
void          eipc_event_release              (EipcEvent          **spare,
                                               EipcEvent           *self);
EipcEvent    *eipc_event_new_port_message     (EipcEvent          **spare,
                                               sd_bus_message      *message,
                                               const char          *data_json,
                                               GBytes              *bytes,
                                               GPtrArray           *ports);
void          eipc_event_set_ports            (EipcEvent           *self,
                                               GPtrArray           *ports);
void          eipc_event_set_posted           (EipcEvent           *self,
                                               char                *args_json,
                                               GPtrArray           *ports);
void          eipc_event_set_cost             (EipcEvent           *self,
                                               gsize                cost);
gsize         eipc_event_get_cost             (EipcEvent           *self);
void          eipc_event_reject_no_handler    (EipcEvent           *self);
void          eipc_event_handler_returned     (EipcEvent           *self);

/* eipc-process.c: renderers the main process launched, and why
 * renderers go away */
typedef struct _EipcProcesses EipcProcesses;
typedef void (*EipcProcessGoneFunc) (EipcWebContents                    *wc,
                                     const EipcRenderProcessGoneDetails *details,
                                     gpointer                            user_data);

EipcProcesses *eipc_processes_new              (EipcProcessGoneFunc  gone,
                                                gpointer             user_data);
void           eipc_processes_free             (EipcProcesses       *self);
gboolean       eipc_processes_spawn            (EipcProcesses       *self,
                                                const char * const  *argv,
                                                const char * const  *envp,
                                                const char          *working_directory,
                                                const char          *app_id,
                                                const char          *address,
                                                GPid                *pid,
                                                GError             **error);
void           eipc_processes_attached         (EipcProcesses       *self,
                                                EipcWebContents     *wc);
void           eipc_processes_web_contents_gone (EipcProcesses      *self,
                                                EipcWebContents     *wc,
                                                gboolean             detached);
void           eipc_web_contents_emit_message (EipcWebContents *self,
                                               EipcEvent       *event);
gboolean       eipc_web_contents_has_message_listeners (EipcWebContents *self,
                                                        const char      *channel,
                                                        gboolean         sync);
void           eipc_web_contents_emit_render_process_gone (EipcWebContents *self,
                                                           const EipcRenderProcessGoneDetails *details);

/* GLib's g_task_set_source_tag() macro also names the task with a copy
 * of the tag's name: one allocation per call, for debug output only. */
#define eipc_task_set_source_tag(task, tag) (g_task_set_source_tag) ((task), (tag))

/* eipc-call.c: method calls whose replies are checked (the sender is the
 * peer the call went to) before they are used */
typedef enum {
  EIPC_CALL_RESULT_NONE,     /* the reply is empty: the task returns a boolean */
  EIPC_CALL_RESULT_JSON,     /* the reply is (s) JSON: finish with eipc_call_finish_node()
                              * or eipc_call_finish_text() */
  EIPC_CALL_RESULT_MESSAGE,  /* the task returns the reply (an sd_bus_message) */
} EipcCallResult;

/* An invoke timeout of 0 ms (none) as sd_bus_call_async() wants it:
 * UINT64_MAX, where a usec of 0 would mean sd-bus's default of 25 s. */
#define EIPC_CALL_TIMEOUT_USEC(msec) \
  ((msec) == 0 ? G_MAXUINT64 : (guint64) (msec) * 1000)

typedef struct _EipcCalls EipcCalls;
/* The calls one object has in flight (a list through the calls). */
typedef struct _EipcCallSet EipcCallSet;

EipcCalls    *eipc_calls_new                  (sd_bus              *bus);
void          eipc_calls_set_source           (EipcCalls           *calls,
                                               GSource             *source);
void          eipc_calls_free                 (EipcCalls           *calls);
gboolean      eipc_calls_call_blocking        (EipcCalls           *calls,
                                               sd_bus_message      *message,
                                               guint64              timeout_usec,
                                               sd_bus_message     **ret_reply,
                                               GError             **error);
void          eipc_call_start                 (EipcCalls           *calls,
                                               sd_bus_message      *call,
                                               gpointer             task,
                                               EipcCallResult       result,
                                               guint64              timeout_usec,
                                               EipcCallSet         *pending);
JsonNode     *eipc_result_parse               (const char          *text,
                                               GError             **error);
void          eipc_call_fail_all              (EipcCallSet         *pending,
                                               const GError        *error);
EipcCallSet  *eipc_call_pending_new           (void);
void          eipc_call_pending_free          (EipcCallSet         *pending);
JsonNode     *eipc_call_finish_node           (gpointer             task,
                                               GError             **error);
char         *eipc_call_finish_text           (gpointer             task,
                                               GError             **error);
/* A call's task is a GTask, or an EipcAsync (a GAsyncResult of its own
 * that costs less, see eipc-call.c); eipc_call_return_error() returns
 * either with @error (taken). */
void          eipc_call_return_error          (gpointer             task,
                                               GError              *error);
#define EIPC_TYPE_ASYNC (eipc_async_get_type ())
G_DECLARE_FINAL_TYPE (EipcAsync, eipc_async, EIPC, ASYNC, GObject)
EipcAsync    *eipc_async_new                  (gpointer             source_object,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data,
                                               gpointer             source_tag,
                                               EipcAsync          **spare);
gboolean      eipc_async_is_valid             (gpointer             result,
                                               gpointer             source_object,
                                               gpointer             source_tag);

/* eipc-message-port.c: ports that travel with a message, as a(hb) */
gboolean      eipc_message_ports_check        (GPtrArray           *ports,
                                               EipcMessagePort     *via,
                                               GError             **error);
int           eipc_message_append_ports       (sd_bus_message      *m,
                                               GPtrArray           *ports);
void          eipc_message_ports_transferred  (GPtrArray           *ports);
GPtrArray    *eipc_message_read_ports         (sd_bus_message      *m,
                                               GMainContext        *context,
                                               GError             **error);
gboolean      eipc_message_check_posted       (const char          *channel,
                                               const char          *message_json,
                                               GPtrArray           *ports,
                                               GError             **error);
char         *eipc_message_posted_args        (const char          *message_json);
gboolean      eipc_bus_check_fds              (sd_bus              *bus,
                                               GPtrArray           *ports,
                                               GError             **error);
EipcMessagePort *eipc_message_port_new_internal (int                fd,
                                               gboolean             server,
                                               GMainContext        *context);
void          eipc_message_port_set_partner   (EipcMessagePort     *self,
                                               EipcMessagePort     *partner);

/* eipc-web-contents.c */
EipcWebContents *eipc_web_contents_new        (sd_bus              *bus,
                                               EipcCalls           *calls,
                                               EipcBudget          *budget,
                                               GMainContext        *context,
                                               const char          *base_path,
                                               guint64              id,
                                               const char          *unique_name,
                                               guint32              pid,
                                               guint32              uid,
                                               guint64              host_id);
void          eipc_web_contents_set_no_fds    (EipcWebContents     *self);
void          eipc_web_contents_destroy       (EipcWebContents     *self,
                                               const char          *reason);
EipcFlow     *eipc_web_contents_get_flow      (EipcWebContents     *self);
gpointer      eipc_web_contents_get_main_use  (EipcWebContents     *self);
void          eipc_web_contents_set_main_use  (EipcWebContents     *self,
                                               gpointer             use);
gboolean      eipc_web_contents_deliver       (EipcWebContents     *self,
                                               const char          *member,
                                               const char          *channel,
                                               const char          *args_json,
                                               guint64              sender_id,
                                               GError             **error);

/* eipc-objects.c: what the webContents objects on the bus may look up */
typedef struct {
  const char       *base_path;
  EipcWebContents *(*lookup) (guint64  id,
                              gpointer data);
  GPtrArray       *(*list)   (gpointer data);   /* (transfer container) */
  gpointer          data;
} EipcWebContentsRegistry;

int           eipc_web_contents_objects_register
                                              (sd_bus              *bus,
                                               const EipcWebContentsRegistry *registry,
                                               sd_bus_slot        **ret_signals,
                                               sd_bus_slot        **ret_properties,
                                               sd_bus_slot        **ret_enumerator);

G_END_DECLS
