/* Built with `cc pkgconfig_host.c $(pkg-config --cflags --libs attnc)` by
 * install-test.sh: the installed attnc.h compiles as C, and libattnc links
 * and compiles a spec. Prints the program's name and its first input. */
#include <attnc/attnc.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  const char *spec = "variant tiny\n"
                     "dims B, H, L, D\n"
                     "input q : [B, H, L, D]\n"
                     "input k : [B, H, L, D]\n"
                     "input v : [B, H, L, D]\n"
                     "attention a(q, k, v) {\n"
                     "  carrier causal\n"
                     "}\n"
                     "output o = a\n";
  const char *names[] = {"B", "H", "L", "D"};
  int64_t values[] = {1, 2, 5, 4};
  attnc_compile_options options = attnc_compile_options_default();
  attnc_program *p;
  if (attnc_compile(spec, strlen(spec), "tiny.attn", 4, names, values, &options, &p) != ATTNC_OK) {
    fprintf(stderr, "%s\n", attnc_last_error());
    return 1;
  }
  int64_t shape[ATTNC_MAX_RANK];
  int rank = attnc_program_input_shape(p, 0, shape);
  printf("%s: %s rank %d [%lld, %lld, %lld, %lld] %s\n", attnc_program_name(p), attnc_program_input_name(p, 0),
         rank, (long long)shape[0], (long long)shape[1], (long long)shape[2], (long long)shape[3],
         attnc_dtype_name(attnc_program_input_dtype(p, 0)));
  attnc_program_free(p);
  return 0;
}
