/* test-common.h: a private bus, child renderers and loop helpers for the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <eipc/eipc.h>
#include <gio/gio.h>

G_BEGIN_DECLS

#define TEST_APP_ID "org.eipc.Test"

/* The bus the tests run on: EIPC_TEST_BUS=dbus-daemon (the default) or
 * dbus-broker (`meson test --setup broker`). */
typedef enum {
  TEST_BUS_DBUS_DAEMON,
  TEST_BUS_DBUS_BROKER,
} TestBusKind;

TestBusKind  test_bus_kind            (void);
const char  *test_bus_name            (void);
gboolean     test_bus_is_broker       (void);
/* Unless the tests run on @kind, skips the test (g_test_skip, naming
 * the bus and @why) and returns TRUE. */
gboolean     test_skip_unless_bus     (TestBusKind   kind,
                                       const char   *why);

/* Starts a private bus (see test_private_bus_start) and points the
 * session bus variable at it; every test of a program shares it. */
void         test_bus_up              (void);
void         test_bus_down            (void);
const char  *test_bus_address         (void);
/* The process that serves it (dbus-daemon, or dbus-broker). */
GPid         test_bus_pid             (void);

/* A plain GDBus client of the test bus (never attached to anything). */
GDBusConnection *test_client_new      (void);

/* A bus of the test's own, which it can kill: dbus-daemon, or dbus-broker
 * through the eipc-test-broker helper, as EIPC_TEST_BUS says, with the
 * session bus's permissive policy. @limits: a few dbus-daemon <limit>
 * elements, or NULL; dbus-broker gets the per-user limits its launcher
 * would compute from them (max_outgoing_bytes, max_outgoing_unix_fds,
 * max_connections_per_user, max_match_rules_per_connection; it has no
 * equivalent of the others). Sets DBUS_SESSION_BUS_ADDRESS for child
 * processes (and unsets it when freed). */
typedef struct _TestPrivateBus TestPrivateBus;

TestPrivateBus *test_private_bus_start   (const char     *limits);
/* The same with a policy modelled on the system bus: nobody owns names
 * or sends method calls, except to the bus and to the names @allowed
 * (prefixes: NAME and NAME.*; NULL-terminated, or NULL), which anybody
 * may own and call; signals and requested replies pass. */
TestPrivateBus *test_private_bus_start_system (const char         *limits,
                                               const char * const *allowed);
const char     *test_private_bus_address (TestPrivateBus *bus);
/* The process that serves the bus (dbus-daemon, or dbus-broker). */
GPid            test_private_bus_pid     (TestPrivateBus *bus);
/* kill -9 of the bus (dbus-daemon, or dbus-broker itself). */
void            test_private_bus_kill    (TestPrivateBus *bus);
void            test_private_bus_free    (TestPrivateBus *bus);

/* Iterates the default main context until *flag is TRUE or @timeout_ms
 * passes; fails the test on timeout. */
void         test_wait_for            (gboolean     *flag,
                                       guint         timeout_ms);
/* Iterates the default main context for @ms milliseconds. */
void         test_spin                (guint         ms);

/* A child renderer process (the eipc-test-renderer helper, see there
 * for its commands). The main context keeps iterating while the test
 * waits on it, so an in-process main process goes on serving. */
typedef struct _TestChild TestChild;

TestChild   *test_child_spawn         (const char   *first_arg,
                                       ...) G_GNUC_NULL_TERMINATED;
TestChild   *test_child_spawnv        (const char  **args);
/* Reads lines until one starts with @prefix; returns it (without the
 * newline). Fails the test at EOF or after 30 s. */
char        *test_child_expect        (TestChild    *child,
                                       const char   *prefix);
void         test_child_kill          (TestChild    *child);
void         test_child_terminate     (TestChild    *child);
/* Any program as a child: @argv[0] is a path, or a name looked up in
 * PATH. */
TestChild   *test_program_spawnv      (const char * const *argv);
/* A helper program of the tests with @fd (taken) as its fd 3. */
TestChild   *test_helper_spawn_with_fd (const char  *program,
                                        int          fd,
                                        const char  *first_arg,
                                        ...) G_GNUC_NULL_TERMINATED;
/* A main process as a child (the eipc-test-main helper). */
TestChild   *test_main_child_spawn    (const char   *first_arg,
                                       ...) G_GNUC_NULL_TERMINATED;
const char  *test_child_pid           (TestChild    *child);
/* Reads to EOF, reaps the child and frees it. Returns everything it
 * printed; *status gets its wait status. */
char        *test_child_finish        (TestChild    *child,
                                       int          *status);
/* Spawns, then finishes. */
char        *test_run_renderer        (int          *status,
                                       const char   *first_arg,
                                       ...) G_GNUC_NULL_TERMINATED;

/* The path of a helper program built beside the tests. */
char        *test_helper_path         (const char   *name);

G_END_DECLS

G_BEGIN_DECLS

/* An EipcMain served by its own thread and main context, so renderers
 * in the test's thread can block (attach, sendSync) while it answers. */
typedef struct _TestMainThread TestMainThread;
typedef void (*TestMainFunc) (EipcMain *main, gpointer user_data);

TestMainThread *test_main_thread_start (const char     *app_id,
                                        TestMainFunc    setup,
                                        gpointer        user_data);
/* Runs @func in the main process's thread and waits for it. */
void            test_main_thread_call  (TestMainThread *thread,
                                        TestMainFunc    func,
                                        gpointer        user_data);
void            test_main_thread_stop  (TestMainThread *thread);

G_END_DECLS
