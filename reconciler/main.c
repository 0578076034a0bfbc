/* main.c: placeholder entry point, replaced by the CLI. */
#include <stdio.h>
int main(void) { puts("reconcile " RECONCILE_VERSION); return 0; }
