/* keyward_c.h as a C99 program sees it (built with -std=c99 -pedantic -Werror), linked against
 * libkeyward.so: the calls that need no token. Exit 0 when each behaves as documented. */
#include "keyward/keyward_c.h"

#include <stdio.h>
#include <string.h>

int main(void) {
  kw_client *client = NULL;
  const char *const context[] = {"table", "users", NULL};
  char *text = NULL;
  int failures = 0;

  kw_free(NULL);
  kw_close(NULL);
  if (kw_last_error() == NULL) failures++;
  if (kw_open(NULL, NULL, NULL) != KW_USAGE || strlen(kw_last_error()) == 0) failures++;
  if (kw_field_encrypt(client, "scope", "kek", 0, (const unsigned char *)"v", 1, context, &text) != KW_USAGE) failures++;
  if (text != NULL) failures++;
  if (failures != 0) fprintf(stderr, "header_check: %d failure(s); last error: %s\n", failures, kw_last_error());
  return failures == 0 ? 0 : 1;
}
