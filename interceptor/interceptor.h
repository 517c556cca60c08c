/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The subcommands main.c dispatches to that live in their own files (daemon.c, check.c); each
 * takes the arguments after the command's name and returns the process exit code.
 */
#ifndef SC_INTERCEPTOR_H
#define SC_INTERCEPTOR_H

int sc_cmd_run(int argc, char **argv);
int sc_cmd_check(int argc, char **argv);
int sc_cmd_cleanup(int argc, char **argv);
int sc_cmd_status(int argc, char **argv);
int sc_cmd_ready(int argc, char **argv);

#endif /* SC_INTERCEPTOR_H */
