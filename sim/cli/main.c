#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: tunnelsim <command> [options]\n"
    "\n"
    "A deterministic simulator of a phone's VPN layer and the network around it.\n"
    "\n"
    "commands:\n"
    "  run SCENARIO     run one scenario file, print verdicts, write traces\n"
    "  bench WHAT       measure: des (event engine), engine (WireGuard), netstack (lwIP),\n"
    "                   scenario (runs/s)\n"
    "  version          print the version and the build's components\n"
    "  help [COMMAND]   this text, or a command's options\n"
    "\n"
    "Every command takes --help. Exit status: 0 no findings, 1 findings,\n"
    "2 bad usage or input, 3 internal or I/O error.\n"
    "Scenario format: docs/scenario-reference.md\n";

bool cli_wants_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return true;
  return false;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "tunnelsim %s: ", cmd);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n(see 'tunnelsim %s --help')\n", cmd);
  return TS_EXIT_USAGE;
}

void cli_json_string(const char *s) {
  putchar('"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') printf("\\%c", *p);
    else if (*p < 0x20) printf("\\u%04x", *p);
    else putchar(*p);
  }
  putchar('"');
}

struct command {
  const char *name;
  int (*fn)(int, char **);
};

static const struct command commands[] = {
    {"run", cli_run},
    {"bench", cli_bench},
    {"version", cli_version},
};

static const struct command *find_command(const char *name) {
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(commands[i].name, name)) return &commands[i];
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    fputs(usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? TS_EXIT_USAGE : TS_EXIT_OK;
  }
  if (!strcmp(argv[1], "help")) {
    if (argc < 3) {
      fputs(usage, stdout);
      return TS_EXIT_OK;
    }
    const struct command *c = find_command(argv[2]);
    if (!c) return cli_usage_error("help", "no command '%s'", argv[2]);
    char *help_argv[] = {argv[2], "--help", NULL};
    return c->fn(2, help_argv);
  }
  if (!strcmp(argv[1], "--version")) return cli_version(1, argv + 1);
  const struct command *c = find_command(argv[1]);
  if (!c) {
    fprintf(stderr, "tunnelsim: no command '%s'\n\n%s", argv[1], usage);
    return TS_EXIT_USAGE;
  }
  return c->fn(argc - 1, argv + 1);
}
