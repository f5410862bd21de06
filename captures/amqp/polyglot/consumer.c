/* A RabbitMQ consumer in C (rabbitmq-c, Debian's librabbitmq-dev) for the polyglot fixtures
 * (polyglot_consumers.py); same SPEC arguments and JSON as consumer.go (run, confirm, cancel,
 * drop). rabbitmq-c is single-threaded per connection: each spec runs in a process of its own
 * (fork) with a connection of its own, frame_max 4096, heartbeat 1 s, server-generated consumer
 * tags, and channel numbers other than 1 (7, 300, 2000, 42).
 *
 * usage: c-consumer PORT OUT.json SPEC...   (writes OUT.json.N per spec, then merges them) */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static FILE *out;
static int nrec;
static const char *queue;
static amqp_channel_t chan;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "c-consumer %s: %s failed\n", queue, what);
    exit(1);
}

static void check(amqp_rpc_reply_t r, const char *what) {
    if (r.reply_type != AMQP_RESPONSE_NORMAL) die(what);
}

/* Sleeps as the body says, records, answers. */
static void work(amqp_connection_state_t conn, amqp_envelope_t *env) {
    char body[512];
    size_t n = env->message.body.len < sizeof body - 1 ? env->message.body.len : sizeof body - 1;
    memcpy(body, env->message.body.bytes, n);
    body[n] = 0;
    int sleep_ms = 0;
    char answer[32] = "";
    char *s = strstr(body, "\"sleep_ms\":"), *a = strstr(body, "\"answer\":");
    if (!s || !a || sscanf(s, "\"sleep_ms\": %d", &sleep_ms) != 1 || sscanf(a, "\"answer\": \"%31[a-z_]\"", answer) != 1)
        die("body");
    if (env->redelivered && strstr(answer, "_requeue")) strcpy(answer, "ack");
    double start = now();
    usleep(sleep_ms * 1000);
    double end = now();
    int code = strcmp(answer, "ack") != 0;
    fprintf(out, "%s{\"queue\": \"%s\", \"delivery_tag\": %llu, \"code\": %d, \"start\": %.6f, \"end\": %.6f, "
            "\"duration_ms\": %.3f, \"answer\": \"%s\", \"redelivered\": %s, \"channel\": %u}",
            nrec++ ? ",\n" : "", queue, (unsigned long long)env->delivery_tag, code, start, end,
            (end - start) * 1000, answer, env->redelivered ? "true" : "false", chan);
    fflush(out);
    uint64_t tag = env->delivery_tag;
    int rc;
    if (!strcmp(answer, "ack")) rc = amqp_basic_ack(conn, chan, tag, 0);
    else if (!strcmp(answer, "nack")) rc = amqp_basic_nack(conn, chan, tag, 0, 0);
    else if (!strcmp(answer, "nack_requeue")) rc = amqp_basic_nack(conn, chan, tag, 0, 1);
    else if (!strcmp(answer, "reject")) rc = amqp_basic_reject(conn, chan, tag, 0);
    else if (!strcmp(answer, "reject_requeue")) rc = amqp_basic_reject(conn, chan, tag, 1);
    else die(answer);
    if (rc) die("answer");
}

/* The next delivery; a frame that is not one (a publisher confirm) is read and counted.
 * Returns 0 when nothing came within timeout_ms. */
static int next(amqp_connection_state_t conn, amqp_envelope_t *env, int timeout_ms, int *confirms) {
    for (;;) {
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
        amqp_maybe_release_buffers(conn);
        amqp_rpc_reply_t r = amqp_consume_message(conn, env, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) return 1;
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) return 0;
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            amqp_frame_t frame;
            if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) die("wait_frame");
            if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_ACK_METHOD && confirms) {
                (*confirms)++;
                continue;
            }
            die("unexpected frame");
        }
        die("consume_message");
    }
}

static void run_spec(int port, const char *spec, int index, const char *path) {
    char q[128], mode[16];
    int prefetch, k;
    if (sscanf(spec, "%127[^:]:%d:%15[^:]:%d", q, &prefetch, mode, &k) != 4) die("spec");
    queue = q;
    static const amqp_channel_t numbers[] = {7, 300, 2000, 42};
    chan = numbers[index % 4];
    out = fopen(path, "w");
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    if (amqp_socket_open(sock, "127.0.0.1", port)) die("connect");
    check(amqp_login(conn, "/", 0, 4096, 1, AMQP_SASL_METHOD_PLAIN, "guest", "guest"), "login");
    amqp_channel_open(conn, chan);
    check(amqp_get_rpc_reply(conn), "channel.open");
    amqp_basic_qos(conn, chan, 0, prefetch, 0);
    check(amqp_get_rpc_reply(conn), "qos");
    int confirm = !strcmp(mode, "confirm");
    if (confirm) {
        amqp_confirm_select(conn, chan);
        check(amqp_get_rpc_reply(conn), "confirm.select");
    }
    amqp_basic_consume_ok_t *ok = amqp_basic_consume(conn, chan, amqp_cstring_bytes(q), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    check(amqp_get_rpc_reply(conn), "consume");
    amqp_bytes_t tag = amqp_bytes_malloc_dup(ok->consumer_tag);
    fprintf(out, "{\"records\": [");
    amqp_envelope_t env;
    int confirms = 0, published = 0, after = 0;
    for (int i = 0; i < k; i++) {
        if (!next(conn, &env, 20000, &confirms)) die("timeout");
        work(conn, &env);
        if (confirm) {
            amqp_bytes_t rq = amqp_bytes_malloc(strlen(q) + 9);
            rq.len = sprintf(rq.bytes, "%s-results", q);
            if (amqp_basic_publish(conn, chan, amqp_empty_bytes, rq, 0, 0, NULL, env.message.body)) die("publish");
            published++;
            amqp_bytes_free(rq);
        }
        amqp_destroy_envelope(&env);
    }
    char notes[256] = "";
    if (!strcmp(mode, "drop")) {
        usleep(100000);
        close(amqp_get_sockfd(conn)); /* no connection.close: the TCP connection just ends */
        fprintf(out, "], \"notes\": {\"%s_socket_closed\": true}}\n", q);
        fclose(out);
        return;
    }
    if (!strcmp(mode, "cancel")) {
        amqp_basic_cancel(conn, chan, tag);
        check(amqp_get_rpc_reply(conn), "cancel");
        /* What arrived before the cancel-ok is queued by rabbitmq-c: answer it all. */
        while (next(conn, &env, 1000, NULL)) {
            work(conn, &env);
            amqp_destroy_envelope(&env);
            after++;
        }
        snprintf(notes, sizeof notes, "\"%s_after_cancel\": %d", q, after);
    }
    if (confirm) {
        /* Confirms still due after the last answer. */
        while (confirms < published && next(conn, &env, 2000, &confirms)) die("delivery after the last");
        snprintf(notes, sizeof notes, "\"%s_confirmed\": %d", q, confirms);
    }
    check(amqp_channel_close(conn, chan, AMQP_REPLY_SUCCESS), "channel.close");
    check(amqp_connection_close(conn, AMQP_REPLY_SUCCESS), "connection.close");
    amqp_destroy_connection(conn);
    fprintf(out, "], \"notes\": {%s}}\n", notes);
    fclose(out);
}

int main(int argc, char **argv) {
    int port = atoi(argv[1]);
    char path[512];
    for (int i = 3; i < argc; i++) {
        snprintf(path, sizeof path, "%s.%d", argv[2], i - 3);
        if (fork() == 0) {
            run_spec(port, argv[i], i - 3, path);
            _exit(0);
        }
    }
    int status, failed = 0;
    while (wait(&status) > 0) failed |= !WIFEXITED(status) || WEXITSTATUS(status);
    return failed;
}
