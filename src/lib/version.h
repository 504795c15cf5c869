/*
 * version: memvisor's version, the one constant that `memvisor --version`
 * and the QMP greeting's "package" (and query-version's) print.
 */
#ifndef MV_LIB_VERSION_H
#define MV_LIB_VERSION_H

#ifndef MV_VERSION
#define MV_VERSION "0.1.0"
#endif

#endif
