/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Corpus replayer: runs a libFuzzer target over every file named on the
 * command line (or found in the directories named), so ctest exercises the
 * fuzz targets on every build without libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        uint8_t *buf = NULL;
        long size;
        int r = 1;

        if (f == NULL)
                goto out;
        if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
                goto out;
        if ((buf = malloc((size_t)size + 1)) == NULL)
                goto out;
        if (fread(buf, 1, (size_t)size, f) != (size_t)size)
                goto out;
        LLVMFuzzerTestOneInput(buf, (size_t)size);
        r = 0;
out:
        if (r != 0)
                fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        if (f != NULL)
                fclose(f);
        return r;
}

int main(int argc, char **argv)
{
        int failures = 0, count = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                DIR *d;
                struct dirent *e;

                if (stat(argv[i], &st) != 0) {
                        fprintf(stderr, "replay: %s: not found\n", argv[i]);
                        failures++;
                        continue;
                }
                if (!S_ISDIR(st.st_mode)) {
                        failures += replay_file(argv[i]);
                        count++;
                        continue;
                }
                if ((d = opendir(argv[i])) == NULL) {
                        failures++;
                        continue;
                }
                while ((e = readdir(d)) != NULL) {
                        char path[4096];
                        int n;

                        if (e->d_name[0] == '.')
                                continue;
                        n = snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                        if (n < 0 || (size_t)n >= sizeof(path))
                                continue;
                        failures += replay_file(path);
                        count++;
                }
                closedir(d);
        }
        printf("replayed %d inputs, %d unreadable\n", count, failures);
        return failures == 0 && count > 0 ? 0 : 1;
}
