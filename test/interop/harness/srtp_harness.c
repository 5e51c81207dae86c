/*
 * srtp_harness: drives the system libsrtp2 for srtpgate's interop tests and
 * native benchmark. Built by test/interop/libsrtp.ts with
 *   gcc -std=c99 -O2 -Wall -Wextra srtp_harness.c $(pkg-config --cflags --libs libsrtp2)
 *
 * Modes
 *   srtp_harness serve
 *     Line protocol on stdin/stdout, one reply line per request line, flushed.
 *     Binary data travels as hex. Requests:
 *       session <id> <in|out> <SUITE> <keyhex> <salthex> <window>
 *       session_mki <id> <in|out> <SUITE> <window> <mkiLen> <mkihex>:<keyhex>:<salthex> ...
 *         (1..16 master keys, each with its MKI of exactly mkiLen octets; the
 *         first one listed is MKI index 0, the next index 1, ...)
 *       protect_rtp <id> <hex>     unprotect_rtp <id> <hex>
 *       protect_rtcp <id> <hex>    unprotect_rtcp <id> <hex>
 *       protect_rtp_mki <id> <index> <hex>   protect_rtcp_mki <id> <index> <hex>
 *         (srtp_protect_mki / srtp_protect_rtcp_mki with that MKI index)
 *       use_key <id> <index>   (MKI index plain protect_rtp/_rtcp use; default 0)
 *       set_roc <id> <ssrc> <roc>  get_roc <id> <ssrc>     (decimal numbers)
 *       close <id>    version    suites    quit
 *     Replies: "ok", "ok <hex>" (packets), "ok <decimal>" (get_roc),
 *     "ok <text>" (version, suites), or "err <libsrtp status number> <name>".
 *     Malformed requests answer "err 2 bad_param"; an unknown session id
 *     answers "err 13 no_ctx".
 *   srtp_harness bench <SUITE> <payloadBytes> <millis>
 *     One thread. Runs four measurements of about <millis> ms each (RTP
 *     protect, RTP unprotect, RTCP protect, RTCP unprotect) and prints
 *     {"suite":..,"payload":..,"rtpProtect":pps,"rtpUnprotect":pps,
 *      "rtcpProtect":pps,"rtcpUnprotect":pps}
 *   srtp_harness suites
 *     Prints the SDES names of the suites this libsrtp2 accepts, one a line.
 *
 * Suites use the RFC 4568 / RFC 6188 / RFC 7714 SDES names. For the _32 HMAC
 * suites SRTCP keeps the 80-bit tag (RFC 4568 section 6.2).
 *
 * MKI sessions (session_mki) protect and unprotect with use_mki = 1, so every
 * packet carries an MKI and every received packet must carry a known one;
 * an unknown MKI answers "err 25 bad_mki", as does an index with no key.
 */
#define _POSIX_C_SOURCE 200809L

#include <srtp2/srtp.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SESSIONS 256
/* libsrtp2 allows MKIs up to SRTP_MAX_MKI_LEN; RFC 4568 SDES carries at most 128
 * bits (1..128 octets in theory, 1..4 in practice); 16 octets covers both tests and sanity. */
#define MAX_MKI_LEN 16
#define MAX_ID_LEN 63
#define MAX_PACKET 65536
/* srtp_protect_rtcp may write SRTP_MAX_TRAILER_LEN + 4 octets past the end. */
#define PACKET_ROOM (SRTP_MAX_TRAILER_LEN + 4)

/* ------------------------------------------------------------------ suites */

typedef void (*policy_setter)(srtp_crypto_policy_t *p);

typedef struct {
    const char *name;
    policy_setter rtp;
    policy_setter rtcp;
    size_t key_len;  /* master key octets */
    size_t salt_len; /* master salt octets */
} suite_t;

static void set_aes128_80(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(p);
}
static void set_aes128_32(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(p);
}
static void set_aes192_80(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_aes_cm_192_hmac_sha1_80(p);
}
static void set_aes192_32(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_aes_cm_192_hmac_sha1_32(p);
}
static void set_aes256_80(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_aes_cm_256_hmac_sha1_80(p);
}
static void set_aes256_32(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_aes_cm_256_hmac_sha1_32(p);
}
static void set_null_80(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_null_cipher_hmac_sha1_80(p);
}
/* libsrtp2 has no setter for NULL_HMAC_SHA1_32: the _80 one with a 4-octet tag. */
static void set_null_32(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_null_cipher_hmac_sha1_80(p);
    p->auth_tag_len = 4;
}
static void set_gcm128(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_aes_gcm_128_16_auth(p);
}
static void set_gcm256(srtp_crypto_policy_t *p)
{
    srtp_crypto_policy_set_aes_gcm_256_16_auth(p);
}

static const suite_t SUITES[] = {
    { "AES_CM_128_HMAC_SHA1_80", set_aes128_80, set_aes128_80, 16, 14 },
    { "AES_CM_128_HMAC_SHA1_32", set_aes128_32, set_aes128_80, 16, 14 },
    { "AES_192_CM_HMAC_SHA1_80", set_aes192_80, set_aes192_80, 24, 14 },
    { "AES_192_CM_HMAC_SHA1_32", set_aes192_32, set_aes192_80, 24, 14 },
    { "AES_256_CM_HMAC_SHA1_80", set_aes256_80, set_aes256_80, 32, 14 },
    { "AES_256_CM_HMAC_SHA1_32", set_aes256_32, set_aes256_80, 32, 14 },
    { "NULL_HMAC_SHA1_80", set_null_80, set_null_80, 16, 14 },
    { "NULL_HMAC_SHA1_32", set_null_32, set_null_80, 16, 14 },
    { "AEAD_AES_128_GCM", set_gcm128, set_gcm128, 16, 12 },
    { "AEAD_AES_256_GCM", set_gcm256, set_gcm256, 32, 12 },
};
#define SUITE_COUNT (sizeof(SUITES) / sizeof(SUITES[0]))

static const suite_t *suite_by_name(const char *name)
{
    size_t i;
    for (i = 0; i < SUITE_COUNT; i++) {
        if (strcmp(SUITES[i].name, name) == 0)
            return &SUITES[i];
    }
    return NULL;
}

/* ---------------------------------------------------------------- statuses */

static const char *const STATUS_NAMES[] = {
    "ok",           "fail",          "bad_param",   "alloc_fail",
    "dealloc_fail", "init_fail",     "terminus",    "auth_fail",
    "cipher_fail",  "replay_fail",   "replay_old",  "algo_fail",
    "no_such_op",   "no_ctx",        "cant_check",  "key_expired",
    "socket_err",   "signal_err",    "nonce_bad",   "read_fail",
    "write_fail",   "parse_err",     "encode_err",  "semaphore_err",
    "pfkey_err",    "bad_mki",       "pkt_idx_old", "pkt_idx_adv",
};

static const char *status_name(srtp_err_status_t st)
{
    size_t n = sizeof(STATUS_NAMES) / sizeof(STATUS_NAMES[0]);
    if ((size_t)st < n)
        return STATUS_NAMES[st];
    return "unknown";
}

/* -------------------------------------------------------------------- hex */

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes hex into out (capacity cap). Returns the octet count or -1. */
static long hex_decode(const char *hex, uint8_t *out, size_t cap)
{
    size_t len = strlen(hex), i;
    if (len % 2 != 0 || len / 2 > cap)
        return -1;
    for (i = 0; i < len / 2; i++) {
        int hi = hex_nibble(hex[2 * i]), lo = hex_nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)((hi << 4) | lo);
    }
    return (long)(len / 2);
}

static void hex_print(FILE *f, const uint8_t *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < len; i++) {
        fputc(digits[buf[i] >> 4], f);
        fputc(digits[buf[i] & 15], f);
    }
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end = NULL;
    unsigned long long v;
    if (s == NULL || *s == '\0' || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0' || v > 0xffffffffULL)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* --------------------------------------------------------------- sessions */

typedef struct {
    int used;
    char id[MAX_ID_LEN + 1];
    srtp_t ctx;
    srtp_policy_t policy; /* template kept for srtp_add_stream (set_roc) */
    uint8_t key[SRTP_MAX_KEY_LEN];
    /* MKI sessions: the policy points into these, and srtp_add_stream (set_roc)
     * reads them again, so they live as long as the session. */
    int use_mki;
    unsigned int tx_index; /* MKI index plain protect uses */
    srtp_master_key_t mkeys[SRTP_MAX_NUM_MASTER_KEYS];
    srtp_master_key_t *mkey_ptrs[SRTP_MAX_NUM_MASTER_KEYS];
    uint8_t mkey_material[SRTP_MAX_NUM_MASTER_KEYS][SRTP_MAX_KEY_LEN];
    uint8_t mki_ids[SRTP_MAX_NUM_MASTER_KEYS][MAX_MKI_LEN];
} session_t;

static session_t sessions[MAX_SESSIONS];

/* Fills policy and key for one direction; returns srtp_err_status_ok or bad_param. */
static srtp_err_status_t make_policy(srtp_policy_t *policy, uint8_t *key,
                                     const suite_t *suite, int outbound,
                                     const uint8_t *mkey, size_t mkey_len,
                                     const uint8_t *msalt, size_t msalt_len,
                                     unsigned long window)
{
    if (mkey_len != suite->key_len || msalt_len != suite->salt_len)
        return srtp_err_status_bad_param;
    memset(policy, 0, sizeof(*policy));
    suite->rtp(&policy->rtp);
    suite->rtcp(&policy->rtcp);
    memset(key, 0, SRTP_MAX_KEY_LEN);
    memcpy(key, mkey, mkey_len);
    memcpy(key + mkey_len, msalt, msalt_len);
    policy->key = key;
    policy->ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    policy->window_size = window;
    policy->allow_repeat_tx = 0;
    policy->next = NULL;
    return srtp_err_status_ok;
}

static session_t *find_session(const char *id)
{
    size_t i;
    for (i = 0; i < MAX_SESSIONS; i++) {
        if (sessions[i].used && strcmp(sessions[i].id, id) == 0)
            return &sessions[i];
    }
    return NULL;
}

static void close_session(session_t *s)
{
    if (s->used) {
        srtp_dealloc(s->ctx);
        memset(s, 0, sizeof(*s));
    }
}

/* ------------------------------------------------------------------ serve */

static void reply_err(srtp_err_status_t st)
{
    printf("err %d %s\n", (int)st, status_name(st));
}

static void reply_packet(const uint8_t *buf, int len)
{
    fputs("ok ", stdout);
    hex_print(stdout, buf, (size_t)len);
    fputc('\n', stdout);
}

/* Frees an existing session of that id and returns a free slot, or NULL. */
static session_t *claim_slot(const char *id)
{
    session_t *s = find_session(id);
    size_t i;
    if (s != NULL)
        close_session(s);
    for (i = 0; i < MAX_SESSIONS && sessions[i].used; i++)
        ;
    return i == MAX_SESSIONS ? NULL : &sessions[i];
}

static int parse_direction(const char *s, int *outbound)
{
    if (strcmp(s, "out") == 0)
        *outbound = 1;
    else if (strcmp(s, "in") == 0)
        *outbound = 0;
    else
        return -1;
    return 0;
}

static void cmd_session(char **argv, int argc)
{
    const suite_t *suite;
    session_t *s;
    uint8_t mkey[SRTP_MAX_KEY_LEN], msalt[SRTP_MAX_KEY_LEN];
    long mkey_len, msalt_len;
    uint32_t window;
    int outbound;
    srtp_err_status_t st;

    if (argc != 7 || strlen(argv[1]) > MAX_ID_LEN || parse_u32(argv[6], &window) != 0 ||
        parse_direction(argv[2], &outbound) != 0) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    suite = suite_by_name(argv[3]);
    mkey_len = hex_decode(argv[4], mkey, sizeof(mkey));
    msalt_len = hex_decode(argv[5], msalt, sizeof(msalt));
    if (suite == NULL || mkey_len < 0 || msalt_len < 0) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    s = claim_slot(argv[1]);
    if (s == NULL) {
        reply_err(srtp_err_status_alloc_fail);
        return;
    }
    st = make_policy(&s->policy, s->key, suite, outbound, mkey, (size_t)mkey_len,
                     msalt, (size_t)msalt_len, window);
    if (st == srtp_err_status_ok)
        st = srtp_create(&s->ctx, &s->policy);
    memset(mkey, 0, sizeof(mkey));
    memset(msalt, 0, sizeof(msalt));
    if (st != srtp_err_status_ok) {
        memset(s, 0, sizeof(*s));
        reply_err(st);
        return;
    }
    s->used = 1;
    memcpy(s->id, argv[1], strlen(argv[1]) + 1);
    puts("ok");
}

/*
 * session_mki <id> <in|out> <SUITE> <window> <mkiLen> <mki>:<key>:<salt> ...
 * Builds the policy with policy.key = NULL and policy.keys/num_master_keys set,
 * which is how libsrtp2 2.x is told to expect (and write) an MKI.
 */
static void cmd_session_mki(char **argv, int argc)
{
    const suite_t *suite;
    session_t *s;
    uint32_t window, mki_len;
    int outbound, nkeys, k;
    srtp_err_status_t st;

    nkeys = argc - 6;
    if (argc < 7 || nkeys > SRTP_MAX_NUM_MASTER_KEYS || strlen(argv[1]) > MAX_ID_LEN ||
        parse_direction(argv[2], &outbound) != 0 || parse_u32(argv[4], &window) != 0 ||
        parse_u32(argv[5], &mki_len) != 0 || mki_len == 0 || mki_len > MAX_MKI_LEN) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    suite = suite_by_name(argv[3]);
    if (suite == NULL) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    s = claim_slot(argv[1]);
    if (s == NULL) {
        reply_err(srtp_err_status_alloc_fail);
        return;
    }
    for (k = 0; k < nkeys; k++) {
        /* Split "mki:key:salt" in place. */
        char *mki_hex = argv[6 + k], *key_hex, *salt_hex;
        uint8_t part[SRTP_MAX_KEY_LEN];
        long n;
        key_hex = strchr(mki_hex, ':');
        salt_hex = key_hex == NULL ? NULL : strchr(key_hex + 1, ':');
        if (salt_hex == NULL) {
            memset(s, 0, sizeof(*s));
            reply_err(srtp_err_status_bad_param);
            return;
        }
        *key_hex++ = '\0';
        *salt_hex++ = '\0';
        if (hex_decode(mki_hex, s->mki_ids[k], MAX_MKI_LEN) != (long)mki_len ||
            hex_decode(key_hex, part, sizeof(part)) != (long)suite->key_len) {
            memset(s, 0, sizeof(*s));
            reply_err(srtp_err_status_bad_param);
            return;
        }
        memcpy(s->mkey_material[k], part, suite->key_len);
        n = hex_decode(salt_hex, part, sizeof(part));
        if (n != (long)suite->salt_len) {
            memset(part, 0, sizeof(part));
            memset(s, 0, sizeof(*s));
            reply_err(srtp_err_status_bad_param);
            return;
        }
        memcpy(s->mkey_material[k] + suite->key_len, part, suite->salt_len);
        memset(part, 0, sizeof(part));
        s->mkeys[k].key = s->mkey_material[k];
        s->mkeys[k].mki_id = s->mki_ids[k];
        s->mkeys[k].mki_size = mki_len;
        s->mkey_ptrs[k] = &s->mkeys[k];
    }
    memset(&s->policy, 0, sizeof(s->policy));
    suite->rtp(&s->policy.rtp);
    suite->rtcp(&s->policy.rtcp);
    s->policy.key = NULL;
    s->policy.keys = s->mkey_ptrs;
    s->policy.num_master_keys = (unsigned long)nkeys;
    s->policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    s->policy.window_size = window;
    s->policy.allow_repeat_tx = 0;
    s->policy.next = NULL;
    st = srtp_create(&s->ctx, &s->policy);
    if (st != srtp_err_status_ok) {
        memset(s, 0, sizeof(*s));
        reply_err(st);
        return;
    }
    s->used = 1;
    s->use_mki = 1;
    s->tx_index = 0;
    memcpy(s->id, argv[1], strlen(argv[1]) + 1);
    puts("ok");
}

static void cmd_use_key(char **argv, int argc)
{
    session_t *s;
    uint32_t index;

    if (argc != 3 || parse_u32(argv[2], &index) != 0) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    s = find_session(argv[1]);
    if (s == NULL) {
        reply_err(srtp_err_status_no_ctx);
        return;
    }
    if (!s->use_mki || index >= s->policy.num_master_keys) {
        reply_err(srtp_err_status_bad_mki);
        return;
    }
    s->tx_index = index;
    puts("ok");
}

typedef enum { OP_PROTECT_RTP, OP_UNPROTECT_RTP, OP_PROTECT_RTCP, OP_UNPROTECT_RTCP } packet_op;

/*
 * <op> <id> [<hex>], or when with_index is set: <op> <id> <index> [<hex>].
 * An empty packet may be sent by leaving the hex out.
 */
static void cmd_packet(char **argv, int argc, packet_op op, int with_index, uint8_t *buf)
{
    session_t *s;
    long n;
    int len, first = with_index ? 3 : 2;
    uint32_t index = 0;
    unsigned int use_mki;
    srtp_err_status_t st;

    if (argc < first || argc > first + 1 || (with_index && parse_u32(argv[2], &index) != 0)) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    s = find_session(argv[1]);
    if (s == NULL) {
        reply_err(srtp_err_status_no_ctx);
        return;
    }
    n = argc == first + 1 ? hex_decode(argv[first], buf, MAX_PACKET) : 0;
    if (n < 0) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    len = (int)n;
    /* libsrtp2 quietly protects without an MKI when asked for index 0 of a
     * session that has none: refuse, so a test cannot believe it sent one. */
    if (with_index && !s->use_mki) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    use_mki = (unsigned int)s->use_mki;
    if (!with_index)
        index = s->tx_index;
    switch (op) {
    case OP_PROTECT_RTP:
        st = srtp_protect_mki(s->ctx, buf, &len, use_mki, index);
        break;
    case OP_UNPROTECT_RTP:
        st = srtp_unprotect_mki(s->ctx, buf, &len, (unsigned int)s->use_mki);
        break;
    case OP_PROTECT_RTCP:
        st = srtp_protect_rtcp_mki(s->ctx, buf, &len, use_mki, index);
        break;
    default:
        st = srtp_unprotect_rtcp_mki(s->ctx, buf, &len, (unsigned int)s->use_mki);
        break;
    }
    if (st != srtp_err_status_ok)
        reply_err(st);
    else
        reply_packet(buf, len);
}

static void cmd_set_roc(char **argv, int argc)
{
    session_t *s;
    uint32_t ssrc, roc;
    srtp_err_status_t st;

    if (argc != 4 || parse_u32(argv[2], &ssrc) != 0 || parse_u32(argv[3], &roc) != 0) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    s = find_session(argv[1]);
    if (s == NULL) {
        reply_err(srtp_err_status_no_ctx);
        return;
    }
    st = srtp_set_stream_roc(s->ctx, ssrc, roc);
    if (st != srtp_err_status_ok) {
        /* No stream for this SSRC yet: add one from the session's policy. */
        srtp_policy_t p = s->policy;
        p.ssrc.type = ssrc_specific;
        p.ssrc.value = ssrc;
        p.next = NULL;
        st = srtp_add_stream(s->ctx, &p);
        if (st == srtp_err_status_ok)
            st = srtp_set_stream_roc(s->ctx, ssrc, roc);
    }
    if (st != srtp_err_status_ok)
        reply_err(st);
    else
        puts("ok");
}

static void cmd_get_roc(char **argv, int argc)
{
    session_t *s;
    uint32_t ssrc, roc = 0;
    srtp_err_status_t st;

    if (argc != 3 || parse_u32(argv[2], &ssrc) != 0) {
        reply_err(srtp_err_status_bad_param);
        return;
    }
    s = find_session(argv[1]);
    if (s == NULL) {
        reply_err(srtp_err_status_no_ctx);
        return;
    }
    st = srtp_get_stream_roc(s->ctx, ssrc, &roc);
    if (st != srtp_err_status_ok)
        reply_err(st);
    else
        printf("ok %lu\n", (unsigned long)roc);
}

/* Creates and frees a session per suite; a suite this build refuses is left out. */
static int suite_supported(const suite_t *suite)
{
    static const uint8_t zeros[SRTP_MAX_KEY_LEN];
    uint8_t key[SRTP_MAX_KEY_LEN];
    srtp_policy_t policy;
    srtp_t ctx;
    if (make_policy(&policy, key, suite, 1, zeros, suite->key_len, zeros,
                    suite->salt_len, 128) != srtp_err_status_ok)
        return 0;
    if (srtp_create(&ctx, &policy) != srtp_err_status_ok)
        return 0;
    srtp_dealloc(ctx);
    return 1;
}

static void print_suites(FILE *f, const char *sep)
{
    size_t i;
    int first = 1;
    for (i = 0; i < SUITE_COUNT; i++) {
        if (suite_supported(&SUITES[i])) {
            fprintf(f, "%s%s", first ? "" : sep, SUITES[i].name);
            first = 0;
        }
    }
}

/* session_mki: 6 words and up to SRTP_MAX_NUM_MASTER_KEYS keys. */
#define MAX_ARGS (6 + SRTP_MAX_NUM_MASTER_KEYS)

static int serve(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    uint8_t *buf = malloc(MAX_PACKET + PACKET_ROOM);
    size_t i;

    if (buf == NULL)
        return 1;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        char *argv[MAX_ARGS + 1];
        int argc = 0;
        char *save = NULL, *tok;

        (void)got;
        for (tok = strtok_r(line, " \t\r\n", &save); tok != NULL;
             tok = strtok_r(NULL, " \t\r\n", &save)) {
            if (argc == MAX_ARGS + 1)
                break;
            argv[argc++] = tok;
        }
        if (argc == 0) {
            reply_err(srtp_err_status_bad_param);
        } else if (argc > MAX_ARGS) {
            reply_err(srtp_err_status_bad_param);
        } else if (strcmp(argv[0], "quit") == 0) {
            puts("ok");
            fflush(stdout);
            break;
        } else if (strcmp(argv[0], "session") == 0) {
            cmd_session(argv, argc);
        } else if (strcmp(argv[0], "session_mki") == 0) {
            cmd_session_mki(argv, argc);
        } else if (strcmp(argv[0], "use_key") == 0) {
            cmd_use_key(argv, argc);
        } else if (strcmp(argv[0], "protect_rtp") == 0) {
            cmd_packet(argv, argc, OP_PROTECT_RTP, 0, buf);
        } else if (strcmp(argv[0], "unprotect_rtp") == 0) {
            cmd_packet(argv, argc, OP_UNPROTECT_RTP, 0, buf);
        } else if (strcmp(argv[0], "protect_rtcp") == 0) {
            cmd_packet(argv, argc, OP_PROTECT_RTCP, 0, buf);
        } else if (strcmp(argv[0], "unprotect_rtcp") == 0) {
            cmd_packet(argv, argc, OP_UNPROTECT_RTCP, 0, buf);
        } else if (strcmp(argv[0], "protect_rtp_mki") == 0) {
            cmd_packet(argv, argc, OP_PROTECT_RTP, 1, buf);
        } else if (strcmp(argv[0], "protect_rtcp_mki") == 0) {
            cmd_packet(argv, argc, OP_PROTECT_RTCP, 1, buf);
        } else if (strcmp(argv[0], "set_roc") == 0) {
            cmd_set_roc(argv, argc);
        } else if (strcmp(argv[0], "get_roc") == 0) {
            cmd_get_roc(argv, argc);
        } else if (strcmp(argv[0], "close") == 0 && argc == 2) {
            session_t *s = find_session(argv[1]);
            if (s == NULL) {
                reply_err(srtp_err_status_no_ctx);
            } else {
                close_session(s);
                puts("ok");
            }
        } else if (strcmp(argv[0], "version") == 0) {
            printf("ok %s\n", srtp_get_version_string());
        } else if (strcmp(argv[0], "suites") == 0) {
            fputs("ok ", stdout);
            print_suites(stdout, ",");
            fputc('\n', stdout);
        } else {
            reply_err(srtp_err_status_no_such_op);
        }
        fflush(stdout);
    }
    for (i = 0; i < MAX_SESSIONS; i++)
        close_session(&sessions[i]);
    free(line);
    free(buf);
    return 0;
}

/* ------------------------------------------------------------------ bench */

#define RING 1024
#define TIME_BATCH 256

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

typedef enum { KIND_RTP, KIND_RTCP } packet_kind;

typedef struct {
    packet_kind kind;
    size_t payload;
    uint8_t *plain;   /* header + payload template */
    size_t plain_len;
    uint16_t seq;     /* next RTP sequence number */
} bench_packet;

static void bench_fail(const char *what, srtp_err_status_t st)
{
    fprintf(stderr, "srtp_harness bench: %s failed: %d %s\n", what, (int)st, status_name(st));
    exit(1);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void bench_packet_init(bench_packet *bp, packet_kind kind, size_t payload)
{
    size_t hdr = kind == KIND_RTP ? 12 : 8;
    bp->kind = kind;
    bp->payload = payload;
    bp->plain_len = hdr + payload;
    bp->plain = malloc(bp->plain_len + PACKET_ROOM);
    bp->seq = 0x1234;
    if (bp->plain == NULL) {
        fputs("srtp_harness bench: out of memory\n", stderr);
        exit(1);
    }
    memset(bp->plain + hdr, 0xab, payload);
    if (kind == KIND_RTP) {
        bp->plain[0] = 0x80;
        bp->plain[1] = 0x0f;
        put_be16(bp->plain + 2, bp->seq);
        put_be32(bp->plain + 4, 0xdeadbeefu);
        put_be32(bp->plain + 8, 0xcafebabeu);
    } else {
        /* Receiver report without report blocks; the length field covers the payload. */
        bp->plain[0] = 0x80;
        bp->plain[1] = 0xc9;
        put_be16(bp->plain + 2, (uint16_t)((bp->plain_len + 3) / 4 - 1));
        put_be32(bp->plain + 4, 0xcafebabeu);
    }
}

/* Protects the template (with the next seq for RTP) into out; returns the length. */
static int bench_protect_one(srtp_t ctx, bench_packet *bp, uint8_t *out)
{
    int len = (int)bp->plain_len;
    srtp_err_status_t st;
    memcpy(out, bp->plain, bp->plain_len);
    if (bp->kind == KIND_RTP) {
        put_be16(out + 2, bp->seq++);
        st = srtp_protect(ctx, out, &len);
    } else {
        st = srtp_protect_rtcp(ctx, out, &len);
    }
    if (st != srtp_err_status_ok)
        bench_fail("protect", st);
    return len;
}

/*
 * Protect: like srtp_driver, protect one buffer in place over and over with an
 * increasing sequence number (the payload re-encrypts, the header stays valid).
 */
static double bench_protect(srtp_t tx, bench_packet *bp, uint64_t budget_ns)
{
    uint8_t *buf = malloc(bp->plain_len + PACKET_ROOM);
    uint64_t count = 0, start, elapsed;
    int i;

    if (buf == NULL)
        bench_fail("malloc", srtp_err_status_alloc_fail);
    memcpy(buf, bp->plain, bp->plain_len);
    start = now_ns();
    do {
        for (i = 0; i < TIME_BATCH; i++) {
            int len = (int)bp->plain_len;
            srtp_err_status_t st;
            if (bp->kind == KIND_RTP) {
                put_be16(buf + 2, bp->seq++);
                st = srtp_protect(tx, buf, &len);
            } else {
                st = srtp_protect_rtcp(tx, buf, &len);
            }
            if (st != srtp_err_status_ok)
                bench_fail("protect", st);
        }
        count += TIME_BATCH;
        elapsed = now_ns() - start;
    } while (elapsed < budget_ns);
    free(buf);
    return (double)count * 1e9 / (double)elapsed;
}

/*
 * Unprotect: pre-protect a ring of packets with increasing indexes (untimed),
 * then unprotect a copy of each exactly once (timed), until the budget is spent.
 */
static double bench_unprotect(srtp_t tx, srtp_t rx, bench_packet *bp, uint64_t budget_ns)
{
    size_t slot = bp->plain_len + PACKET_ROOM;
    uint8_t *ring = malloc(slot * RING);
    uint8_t *work = malloc(slot);
    int lens[RING];
    uint64_t count = 0, spent = 0;
    int i;

    if (ring == NULL || work == NULL)
        bench_fail("malloc", srtp_err_status_alloc_fail);
    while (spent < budget_ns) {
        uint64_t start;
        for (i = 0; i < RING; i++)
            lens[i] = bench_protect_one(tx, bp, ring + slot * (size_t)i);
        start = now_ns();
        for (i = 0; i < RING; i++) {
            int len = lens[i];
            srtp_err_status_t st;
            memcpy(work, ring + slot * (size_t)i, (size_t)len);
            if (bp->kind == KIND_RTP)
                st = srtp_unprotect(rx, work, &len);
            else
                st = srtp_unprotect_rtcp(rx, work, &len);
            if (st != srtp_err_status_ok)
                bench_fail("unprotect", st);
        }
        spent += now_ns() - start;
        count += RING;
    }
    free(ring);
    free(work);
    return (double)count * 1e9 / (double)spent;
}

static srtp_t bench_session(const suite_t *suite, int outbound)
{
    /* Any key will do; the RFC 3711 B.3 master key and salt, zero-padded. */
    static const uint8_t mkey[32] = { 0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
                                      0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39 };
    static const uint8_t msalt[14] = { 0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe,
                                       0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6 };
    srtp_policy_t policy;
    uint8_t key[SRTP_MAX_KEY_LEN];
    srtp_t ctx;
    srtp_err_status_t st;

    st = make_policy(&policy, key, suite, outbound, mkey, suite->key_len, msalt,
                     suite->salt_len, 1024);
    if (st == srtp_err_status_ok)
        st = srtp_create(&ctx, &policy);
    if (st != srtp_err_status_ok)
        bench_fail("srtp_create", st);
    return ctx;
}

static double bench_one(const suite_t *suite, packet_kind kind, size_t payload,
                        int unprotect, uint64_t budget_ns)
{
    bench_packet bp;
    srtp_t tx = bench_session(suite, 1), rx = NULL;
    double pps;

    bench_packet_init(&bp, kind, payload);
    if (unprotect) {
        rx = bench_session(suite, 0);
        pps = bench_unprotect(tx, rx, &bp, budget_ns);
        srtp_dealloc(rx);
    } else {
        /* Short warm-up, then the timed run. */
        bench_protect(tx, &bp, budget_ns / 20 + 1);
        pps = bench_protect(tx, &bp, budget_ns);
    }
    srtp_dealloc(tx);
    free(bp.plain);
    return pps;
}

static int bench(const char *suite_name, const char *payload_s, const char *millis_s)
{
    const suite_t *suite = suite_by_name(suite_name);
    uint32_t payload, millis;
    uint64_t budget;
    double rp, ru, cp, cu;

    if (suite == NULL || parse_u32(payload_s, &payload) != 0 || payload > 16384 ||
        parse_u32(millis_s, &millis) != 0 || millis == 0) {
        fputs("usage: srtp_harness bench <SUITE> <payloadBytes 0..16384> <millis>\n", stderr);
        return 2;
    }
    budget = (uint64_t)millis * 1000000ULL;
    rp = bench_one(suite, KIND_RTP, payload, 0, budget);
    ru = bench_one(suite, KIND_RTP, payload, 1, budget);
    cp = bench_one(suite, KIND_RTCP, payload, 0, budget);
    cu = bench_one(suite, KIND_RTCP, payload, 1, budget);
    printf("{\"suite\":\"%s\",\"payload\":%lu,\"rtpProtect\":%.0f,\"rtpUnprotect\":%.0f,"
           "\"rtcpProtect\":%.0f,\"rtcpUnprotect\":%.0f}\n",
           suite->name, (unsigned long)payload, rp, ru, cp, cu);
    return 0;
}

/* ------------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    srtp_err_status_t st = srtp_init();
    int rc;

    if (st != srtp_err_status_ok) {
        fprintf(stderr, "srtp_init failed: %d %s\n", (int)st, status_name(st));
        return 1;
    }
    if (argc == 2 && strcmp(argv[1], "serve") == 0) {
        rc = serve();
    } else if (argc == 5 && strcmp(argv[1], "bench") == 0) {
        rc = bench(argv[2], argv[3], argv[4]);
    } else if (argc == 2 && strcmp(argv[1], "suites") == 0) {
        print_suites(stdout, "\n");
        fputc('\n', stdout);
        rc = 0;
    } else {
        fputs("usage: srtp_harness serve | bench <SUITE> <payloadBytes> <millis> | suites\n",
              stderr);
        rc = 2;
    }
    srtp_shutdown();
    return rc;
}
