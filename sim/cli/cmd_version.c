#include <sodium.h>
#include <stdio.h>

#include "cli.h"

#ifndef TUNNELSIM_VERSION
#define TUNNELSIM_VERSION "unknown"
#endif

int cli_version(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    puts("usage: tunnelsim version\n\nPrints the version and the versions of the libraries built in.");
    return TS_EXIT_OK;
  }
  if (argc > 1) return cli_usage_error("version", "takes no arguments");
  printf("tunnelsim %s\n", TUNNELSIM_VERSION);
  printf("backends: native\n");
  printf("libsodium %s\n", sodium_version_string());
  return TS_EXIT_OK;
}
