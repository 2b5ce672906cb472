/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kl_platform_cert_tool: TCG platform attribute certificates with libkl's
 * templates (lib/crypto/platform_cert.h), for the test bed and the tests.
 *
 *   make --holder EK.pem --ca-cert CA.pem --ca-key CA.key --manufacturer M
 *        --model M --version V [--serial S] [--serial-number N]
 *        [--not-before UNIX] [--not-after UNIX] --out FILE.der
 *   show FILE.der                 attributes, serial and dates, one KEY=VALUE a line
 *   check FILE.der --holder EK.pem --ca-dir DIR    exit 0, or the reason and 1
 *
 * Dates default to one hour ago .. ten years on.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "err.h"
#include "fileio.h"
#include "platform_cert.h"

static int usage(void)
{
        fprintf(stderr, "usage: kl_platform_cert_tool make|show|check ... (see the source)\n");
        return 2;
}

static bool parse_u64(const char *s, uint64_t *ret)
{
        char *end = NULL;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0')
                return false;
        *ret = v;
        return true;
}

static int read_der(const char *path, uint8_t **ret, size_t *ret_len)
{
        char *data = NULL;
        int r = kl_file_read(path, KL_PLATFORM_CERT_MAX, &data, ret_len);

        if (r < 0) {
                fprintf(stderr, "cannot read %s: %s\n", path, kl_err_str(r));
                return r;
        }
        *ret = (uint8_t *)data;
        return 0;
}

static int cmd_make(int argc, char **argv)
{
        static const struct option opts[] = {
            {"holder", required_argument, NULL, 'H'},
            {"ca-cert", required_argument, NULL, 'c'},
            {"ca-key", required_argument, NULL, 'k'},
            {"manufacturer", required_argument, NULL, 'M'},
            {"model", required_argument, NULL, 'm'},
            {"version", required_argument, NULL, 'v'},
            {"serial", required_argument, NULL, 's'},
            {"serial-number", required_argument, NULL, 'n'},
            {"not-before", required_argument, NULL, 'b'},
            {"not-after", required_argument, NULL, 'a'},
            {"out", required_argument, NULL, 'o'},
            {NULL, 0, NULL, 0},
        };
        struct kl_platform_cert_spec spec = {.serial_number = 1};
        const char *holder_path = NULL, *ca_path = NULL, *key_path = NULL, *out = NULL;
        X509 *holder = NULL, *ca = NULL;
        EVP_PKEY *key = NULL;
        uint8_t *der = NULL;
        size_t len = 0;
        uint64_t v;
        int c, ret = 1;

        spec.not_before = time(NULL) - 3600;
        spec.not_after = time(NULL) + 10L * 366 * 24 * 3600;
        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                switch (c) {
                case 'H':
                        holder_path = optarg;
                        break;
                case 'c':
                        ca_path = optarg;
                        break;
                case 'k':
                        key_path = optarg;
                        break;
                case 'M':
                        spec.attrs.manufacturer = optarg;
                        break;
                case 'm':
                        spec.attrs.model = optarg;
                        break;
                case 'v':
                        spec.attrs.version = optarg;
                        break;
                case 's':
                        spec.attrs.serial = optarg;
                        break;
                case 'o':
                        out = optarg;
                        break;
                case 'n':
                case 'b':
                case 'a':
                        if (!parse_u64(optarg, &v))
                                return usage();
                        if (c == 'n')
                                spec.serial_number = v;
                        else if (c == 'b')
                                spec.not_before = (time_t)v;
                        else
                                spec.not_after = (time_t)v;
                        break;
                default:
                        return usage();
                }
        }
        if (holder_path == NULL || ca_path == NULL || key_path == NULL || out == NULL)
                return usage();
        if (kl_x509_load_file(holder_path, &holder) < 0 || kl_x509_load_file(ca_path, &ca) < 0 ||
            kl_key_load_pem(key_path, NULL, &key) < 0) {
                fprintf(stderr, "cannot load the holder, the CA certificate or its key\n");
                goto out;
        }
        if (kl_platform_cert_make(&spec, holder, ca, key, &der, &len) < 0) {
                fprintf(stderr, "cannot build the platform certificate\n");
                goto out;
        }
        if (kl_file_write_atomic(out, der, len, 0644) < 0) {
                fprintf(stderr, "cannot write %s\n", out);
                goto out;
        }
        ret = 0;
out:
        free(der);
        EVP_PKEY_free(key);
        X509_free(holder);
        X509_free(ca);
        return ret;
}

static int cmd_show(const char *path)
{
        struct kl_platform_cert *pc = NULL;
        const struct kl_platform_attrs *a;
        uint8_t *der = NULL;
        size_t len = 0;
        char nb[21], na[21], serial[41];
        int ret = 1;

        if (read_der(path, &der, &len) < 0)
                goto out;
        if (kl_platform_cert_parse(der, len, &pc) < 0) {
                fprintf(stderr, "%s is not a platform certificate\n", path);
                goto out;
        }
        a = kl_platform_cert_attrs(pc);
        if (kl_platform_cert_validity(pc, nb, na) < 0 ||
            kl_platform_cert_serial_hex(pc, serial, sizeof(serial)) < 0)
                goto out;
        printf("manufacturer=%s\nmodel=%s\nversion=%s\nserial=%s\nserial_number=%s\n"
               "not_before=%s\nnot_after=%s\n",
               a->manufacturer, a->model, a->version, a->serial != NULL ? a->serial : "", serial,
               nb, na);
        ret = 0;
out:
        kl_platform_cert_free(pc);
        free(der);
        return ret;
}

static int cmd_check(int argc, char **argv)
{
        static const struct option opts[] = {
            {"holder", required_argument, NULL, 'H'},
            {"ca-dir", required_argument, NULL, 'd'},
            {NULL, 0, NULL, 0},
        };
        const char *holder_path = NULL, *ca_dir = NULL;
        X509 *holder = NULL;
        uint8_t *der = NULL;
        size_t len = 0;
        char why[512];
        int c, ret = 1;

        while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
                if (c == 'H')
                        holder_path = optarg;
                else if (c == 'd')
                        ca_dir = optarg;
                else
                        return usage();
        }
        if (holder_path == NULL || ca_dir == NULL || optind + 1 != argc)
                return usage();
        if (read_der(argv[optind], &der, &len) < 0 || kl_x509_load_file(holder_path, &holder) < 0)
                goto out;
        why[0] = '\0';
        if (kl_platform_cert_check(der, len, holder, ca_dir, time(NULL), NULL, why, sizeof(why)) <
            0) {
                printf("%s\n", why[0] != '\0' ? why : "check failed");
                goto out;
        }
        printf("ok\n");
        ret = 0;
out:
        X509_free(holder);
        free(der);
        return ret;
}

int main(int argc, char **argv)
{
        if (argc < 2)
                return usage();
        if (strcmp(argv[1], "make") == 0)
                return cmd_make(argc - 1, argv + 1);
        if (strcmp(argv[1], "show") == 0 && argc == 3)
                return cmd_show(argv[2]);
        if (strcmp(argv[1], "check") == 0)
                return cmd_check(argc - 1, argv + 1);
        return usage();
}
