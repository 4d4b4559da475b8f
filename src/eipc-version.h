/* eipc-version.h: version and visibility macros
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(EIPC_INSIDE) && !defined(EIPC_COMPILATION)
# error "Only <eipc/eipc.h> can be included directly."
#endif

/**
 * EIPC_MAJOR_VERSION:
 *
 * The major version of eipc the program is compiled against.
 *
 * Since: 1.0
 */
#define EIPC_MAJOR_VERSION 1

/**
 * EIPC_MINOR_VERSION:
 *
 * The minor version of eipc the program is compiled against.
 *
 * Since: 1.0
 */
#define EIPC_MINOR_VERSION 0

/**
 * EIPC_MICRO_VERSION:
 *
 * The micro version of eipc the program is compiled against.
 *
 * Since: 1.0
 */
#define EIPC_MICRO_VERSION 0

/**
 * EIPC_CHECK_VERSION:
 * @major: required major version
 * @minor: required minor version
 * @micro: required micro version
 *
 * Evaluates to %TRUE when the eipc headers are at least the given version.
 *
 * Since: 1.0
 */
#define EIPC_CHECK_VERSION(major, minor, micro)                      \
  (EIPC_MAJOR_VERSION > (major) ||                                   \
   (EIPC_MAJOR_VERSION == (major) && EIPC_MINOR_VERSION > (minor)) || \
   (EIPC_MAJOR_VERSION == (major) && EIPC_MINOR_VERSION == (minor) && \
    EIPC_MICRO_VERSION >= (micro)))

#if defined(EIPC_COMPILATION)
# define _EIPC_EXTERN __attribute__((visibility ("default"))) extern
#else
# define _EIPC_EXTERN extern
#endif

/**
 * EIPC_AVAILABLE_IN_1_0:
 *
 * Marks a symbol that is part of the public API since eipc 1.0.
 *
 * Since: 1.0
 */
#define EIPC_AVAILABLE_IN_1_0 _EIPC_EXTERN
