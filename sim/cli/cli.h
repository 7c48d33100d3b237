/* Subcommands of the tunnelsim command. Each returns the process exit status:
 * 0 no findings, 1 findings, 2 bad usage or input, 3 internal or I/O error. */
#ifndef TS_CLI_H
#define TS_CLI_H

#include <stdbool.h>

#define TS_EXIT_OK 0
#define TS_EXIT_FINDINGS 1
#define TS_EXIT_USAGE 2
#define TS_EXIT_INTERNAL 3

int cli_run(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_version(int argc, char **argv);

/* True when argv[i] is -h or --help for any i in [1, argc). */
bool cli_wants_help(int argc, char **argv);
/* Prints "tunnelsim <cmd>: <message>" and a hint to stderr; returns TS_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes s as a JSON string literal. */
void cli_json_string(const char *s);

#endif
