/*
 * Raw LMDB's durable puts, the peer of Engram's durable long-term put in tools/bench-server: the
 * same keyspace (key:000000000000 to key:(r-1), random), the same 256-byte values, each put
 * acknowledged only after `mdb_txn_commit` with LMDB's default sync (the data file's pages and
 * its meta page written and fdatasync'd), so it is what an application that keeps its data in
 * LMDB alone gets for a durable write.
 *
 *   lmdb_put DIRECTORY PUTS PUTS_PER_TRANSACTION
 *
 * Prints one CSV line: puts/s, CPU µs per put (user + system, getrusage), commits (each syncs
 * the data file twice). tools/bench-server reads the disk's bytes written around it. The
 * directory must exist and be empty; it is on the disk under test.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static void check(int rc, const char *what) {
    if (rc != 0) {
        fprintf(stderr, "lmdb_put: %s: %s\n", what, mdb_strerror(rc));
        exit(1);
    }
}

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

static double now_seconds(void) {
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return time.tv_sec + time.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: lmdb_put DIRECTORY PUTS PUTS_PER_TRANSACTION\n");
        return 64;
    }
    const char *directory = argv[1];
    long puts = atol(argv[2]);
    long per_transaction = atol(argv[3]);
    const long keyspace = 100000;
    if (puts <= 0 || per_transaction <= 0) {
        fprintf(stderr, "lmdb_put: PUTS and PUTS_PER_TRANSACTION must be positive\n");
        return 64;
    }
    MDB_env *env;
    check(mdb_env_create(&env), "mdb_env_create");
    check(mdb_env_set_mapsize(env, (size_t)1 << 32), "mdb_env_set_mapsize");
    check(mdb_env_open(env, directory, 0, 0644), "mdb_env_open");
    MDB_dbi dbi;
    MDB_txn *txn;
    check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
    check(mdb_dbi_open(txn, NULL, 0, &dbi), "mdb_dbi_open");
    check(mdb_txn_commit(txn), "mdb_txn_commit");

    char value[256];
    memset(value, 'v', sizeof value);
    char key[32];
    unsigned long long state = 88172645463325252ULL;
    double cpu_before = cpu_seconds();
    double started = now_seconds();
    long commits = 0;
    for (long done = 0; done < puts;) {
        check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
        for (long i = 0; i < per_transaction && done < puts; i++, done++) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            int length = snprintf(key, sizeof key, "key:%012llu", state % keyspace);
            MDB_val k = { (size_t)length, key };
            MDB_val v = { sizeof value, value };
            check(mdb_put(txn, dbi, &k, &v, 0), "mdb_put");
        }
        check(mdb_txn_commit(txn), "mdb_txn_commit");
        commits++;
    }
    double elapsed = now_seconds() - started;
    double cpu = cpu_seconds() - cpu_before;
    printf("%.0f,%.2f,%ld\n", puts / elapsed, cpu * 1e6 / puts, commits);
    mdb_env_close(env);
    return 0;
}
