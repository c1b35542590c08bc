/*
 * replay.c -- runs a libFuzzer target's entry point over every file of a seed
 * corpus directory, without libFuzzer: the seeds (and the reproducers kept
 * among them) become a plain regression test that any compiler builds.
 * usage: replay DIR...   Exits non-zero if a directory cannot be read or
 * holds no file; a hang is caught by the ctest timeout.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    fclose(f);
    if (!buf) return -1;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) return fprintf(stderr, "replay: cannot open %s\n", argv[i]), 2;
        struct dirent *de;
        int count = 0;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], de->d_name);
            if (run_file(p) != 0) return fprintf(stderr, "replay: cannot read %s\n", p), 2;
            count++;
        }
        closedir(d);
        if (!count) return fprintf(stderr, "replay: no seed in %s\n", argv[i]), 2;
        printf("replay: %d seeds of %s ran\n", count, argv[i]);
    }
    return 0;
}
