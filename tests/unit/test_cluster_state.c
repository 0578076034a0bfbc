/*
 * test_cluster_state.c: cluster mode's state bucket without a NATS server
 * (state/cluster_state.h): its keys both ways (allowed characters only, no
 * padding), the spec's cluster.state_bucket (default, not the lease
 * bucket), a start against an unreachable NATS refused with an error, and
 * the cluster's hash key taken by an empty state, refused by one holding
 * records hashed with its own.
 * The bucket itself is tested on real nats-servers
 * (tests/e2e/e2e_cluster_state.c).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "providers/vendor.h"
#include "specs/spec.h"
#include "specs/spec_cluster.h"
#include "state/cluster_state.h"
#include "state/store.h"

/* Bucket keys: allowed characters only, and back to the same change. */
static void test_bucket_keys(void **state)
{
	struct store_changes in = { 0 }, out = { 0 };
	const char k1[] = "site one\0B/12+x", k2[] = "r10\0site one";
	const unsigned char k3[] = { 's', '1', 0, 0, 0, 0, 0, 0, 0, 0, 0xff };
	size_t i;
	char *key;

	(void)state;
	store_changes_add(&in, "observed", "site one", k1, sizeof(k1) - 1, "v", 1);
	store_changes_add(&in, "meta", "site one", k2, sizeof(k2) - 1, "12345678", 8);
	store_changes_add(&in, "journal", "s1", k3, sizeof(k3), "{}", 2);
	for (i = 0; i < in.n; i++) {
		key = cluster_state_key(&in.c[i], 64);
		assert_int_equal(strspn(key, "-/_=.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					"0123456789"), strlen(key));
		assert_null(strchr(key, '='));
		assert_true(cluster_state_parse(key, in.c[i].val, in.c[i].vlen, &out));
		assert_int_equal(out.c[i].klen, in.c[i].klen);
		assert_memory_equal(out.c[i].key, in.c[i].key, in.c[i].klen);
		assert_string_equal(out.c[i].site, in.c[i].site);
		assert_string_equal(out.c[i].db, in.c[i].db);
		assert_int_equal(out.c[i].vlen, in.c[i].vlen);
		free(key);
	}
	assert_false(cluster_state_parse("3.c2l0ZQ.nosuchdb.eA", "", 0, &out));
	assert_false(cluster_state_parse("3.c2l0ZQ.observed", "", 0, &out));
	assert_false(cluster_state_parse("3.c2l0ZQ.observed.e!!", "", 0, &out)); /* not base64 */
	assert_false(cluster_state_parse("3.c2l0ZQ.observed.x", "", 0, &out));   /* 1 char: no byte */
	store_changes_clear(&in);
	store_changes_clear(&out);
}

static const char SPEC[] =
	"{\"version\": 1, \"pms\": {\"type\": \"storeganise\", \"base_url\": \"https://a.storeganise.com/api\","
	" \"api_key_env\": \"K\"}, \"sites\": [{\"name\": \"s\", \"pms_site_id\": \"p\", \"vendor\": \"opentech\","
	" \"opentech\": {\"environment\": \"production\", \"property_number\": \"P\", \"api_key_env\": \"A\","
	" \"api_secret_env\": \"B\", \"client_id_env\": \"C\", \"client_secret_env\": \"D\"}}], "
	"\"cluster\": {\"urls\": [\"nats://127.0.0.1:4222\"], \"hash_key_env\": \"H\"%s}}";

static void test_spec_state_bucket(void **state)
{
	char buf[1024];
	struct spec *s = NULL;
	struct rc_err err;

	(void)state;
	snprintf(buf, sizeof(buf), SPEC, "");
	assert_int_equal(spec_load_buf(buf, strlen(buf), "/x/spec.json", vendor_specs(), &s, &err), RC_OK);
	assert_string_equal(s->cluster->state_bucket, "reconcile-state");
	spec_free(s);
	snprintf(buf, sizeof(buf), SPEC, ", \"state_bucket\": \"st\"");
	assert_int_equal(spec_load_buf(buf, strlen(buf), "/x/spec.json", vendor_specs(), &s, &err), RC_OK);
	assert_string_equal(s->cluster->state_bucket, "st");
	spec_free(s);
	/* the leases' MaxAge would drop the state */
	snprintf(buf, sizeof(buf), SPEC, ", \"state_bucket\": \"reconcile-leases\"");
	assert_int_equal(spec_load_buf(buf, strlen(buf), "/x/spec.json", vendor_specs(), &s, &err),
			 RC_EINVAL);
	assert_non_null(strstr(err.msg, "$.cluster.state_bucket"));
	snprintf(buf, sizeof(buf), SPEC, ", \"state_bucket\": \"a.b\"");
	assert_int_equal(spec_load_buf(buf, strlen(buf), "/x/spec.json", vendor_specs(), &s, &err),
			 RC_EINVAL);
}

static void test_start_refuses(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	const char *urls[1];
	char url[64];
	struct cluster_opts o;
	struct cluster_state_opts so;
	struct cluster_state *cs = (void *)1;
	struct rc_err err;
	int fd;

	(void)state;
	/* a port nobody listens on (bound, then closed) */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	snprintf(url, sizeof(url), "nats://127.0.0.1:%d", ntohs(a.sin_port));
	urls[0] = url;
	o = (struct cluster_opts){ .urls = urls, .nurls = 1, .bucket = "b", .replicas = 1,
				   .shards = 64, .ttl_ms = 3000 };
	so = (struct cluster_state_opts){ &o, "st", "test", NULL, NULL };
	assert_int_equal(cluster_state_start(&so, &cs, &err), RC_EIO);
	assert_null(cs);
	assert_non_null(strstr(err.msg, "cannot connect to NATS"));
}

/* The cluster's hash key: an empty state takes it (hash.key replaced, so
 * that the next open agrees); a state holding records hashed with its own
 * key is refused, naming the way to convert it. */
static void test_cluster_hash_key(void **state)
{
	const char *tmp = getenv("TMPDIR");
	unsigned char key[32], file[32], a[RC_HASH_LEN], b[RC_HASH_LEN];
	char dir[512], path[600], cmd[700];
	struct journal_entry je = { 0 };
	struct store *s;
	struct rc_err err;
	FILE *f;

	(void)state;
	memset(key, 0x5a, sizeof(key));
	snprintf(dir, sizeof(dir), "%s/test_cluster_key.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(store_open(&s, dir, &err), 0);
	store_secret_hash(s, "s1", "482913", a);
	assert_int_equal(store_use_hash_key(s, key, &err), 0);
	store_secret_hash(s, "s1", "482913", b);
	assert_memory_not_equal(a, b, RC_HASH_LEN);
	snprintf(path, sizeof(path), "%s/hash.key", dir);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(file, 1, sizeof(file), f), sizeof(file));
	fclose(f);
	assert_memory_equal(file, key, sizeof(key));
	assert_int_equal(store_use_hash_key(s, key, &err), 0); /* the same: nothing to do */
	snprintf(je.op, sizeof(je.op), "tenant.create");
	assert_int_equal(store_journal_intent(s, "s1", &je, &err), 0);
	key[0] ^= 1;
	assert_int_equal(store_use_hash_key(s, key, &err), RC_EINVAL);
	assert_non_null(strstr(err.msg, "cluster.hash_key"));
	assert_non_null(strstr(err.msg, "/hash.key"));
	store_secret_hash(s, "s1", "482913", a);
	assert_memory_equal(a, b, RC_HASH_LEN); /* the key in use did not change */
	store_close(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_keys),
		cmocka_unit_test(test_spec_state_bucket),
		cmocka_unit_test(test_start_refuses),
		cmocka_unit_test(test_cluster_hash_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
