/* test_cluster.c: cluster mode without a NATS server: the shard of a site
 * is FNV-1a of its name (stable: sites never move between shards), the
 * spec's cluster section is read with its defaults, and the lease module
 * refuses bad options and an unreachable NATS with an error. The leases
 * themselves are tested on real nats-servers (tests/e2e/e2e_cluster.c). */
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
#include "state/cluster_lease.h"

static void shard_of_is_fnv1a(void)
{
	/* FNV-1a 32-bit reference values ("" = offset basis, "a", "foobar") */
	assert_int_equal(cluster_shard_of("", 0xffffffffu), 2166136261u % 0xffffffffu);
	assert_int_equal(cluster_shard_of("a", 0xffffffffu), 0xe40c292cu);
	assert_int_equal(cluster_shard_of("foobar", 0xffffffffu), 0xbf9cf968u);
	assert_int_equal(cluster_shard_of("foobar", 64), 0xbf9cf968u % 64);
	assert_true(cluster_shard_of("site1", 64) < 64);
}

static void wrap_shard(void **state)
{
	(void)state;
	shard_of_is_fnv1a();
}

static const char SPEC[] =
	"{\"version\": 1, \"pms\": {\"type\": \"storeganise\", \"base_url\": \"https://a.storeganise.com/api\","
	" \"api_key_env\": \"K\"}, \"sites\": [{\"name\": \"s\", \"pms_site_id\": \"p\", \"vendor\": \"opentech\","
	" \"opentech\": {\"environment\": \"production\", \"property_number\": \"P\", \"api_key_env\": \"A\","
	" \"api_secret_env\": \"B\", \"client_id_env\": \"C\", \"client_secret_env\": \"D\"}}]%s}";

static void test_spec_section(void **state)
{
	char buf[1024];
	struct spec *s = NULL;
	struct rc_err err;

	(void)state;
	snprintf(buf, sizeof(buf), SPEC, "");
	assert_int_equal(spec_load_buf(buf, strlen(buf), "/x/spec.json", vendor_specs(), &s, &err), RC_OK);
	assert_null(s->cluster); /* absent: one process */
	spec_free(s);
	/* without a hash key: the instances would not agree on the state's hashes */
	snprintf(buf, sizeof(buf), SPEC, ", \"cluster\": {\"urls\": [\"nats://127.0.0.1:4222\"], "
		 "\"token_file\": \"tok\"}");
	assert_int_equal(spec_load_buf(buf, strlen(buf), "/x/spec.json", vendor_specs(), &s, &err),
			 RC_EINVAL);
	assert_non_null(strstr(err.msg, "$.cluster.hash_key"));
	snprintf(buf, sizeof(buf), SPEC, ", \"cluster\": {\"urls\": [\"nats://127.0.0.1:4222\"], "
		 "\"token_file\": \"tok\", \"hash_key_credential\": \"reconcile-hash-key\"}");
	assert_int_equal(spec_load_buf(buf, strlen(buf), "/x/spec.json", vendor_specs(), &s, &err), RC_OK);
	assert_non_null(s->cluster);
	assert_int_equal(s->cluster->nurls, 1);
	assert_int_equal(s->cluster->shards, 64);
	assert_int_equal(s->cluster->lease_ttl_s, 15);
	assert_int_equal(s->cluster->replicas, 3);
	assert_string_equal(s->cluster->bucket, "reconcile-leases");
	assert_string_equal(s->cluster->token.file, "/x/tok");
	assert_string_equal(s->cluster->hash_key.credential, "reconcile-hash-key");
	spec_free(s);
	snprintf(buf, sizeof(buf), SPEC, ", \"cluster\": {\"urls\": [], \"shards\": 8}");
	assert_int_equal(spec_load_buf(buf, strlen(buf), "/x/spec.json", vendor_specs(), &s, &err),
			 RC_EINVAL);
	assert_non_null(strstr(err.msg, "$.cluster.urls"));
}

static void test_start_refuses(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	const char *urls[1];
	char url[64];
	struct cluster_opts o = { 0 };
	struct cluster_lease *cl = (void *)1;
	struct rc_err err;
	int fd;

	(void)state;
	assert_int_equal(cluster_lease_start(&o, &cl, &err), RC_EINVAL);
	assert_null(cl);
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
	assert_int_equal(cluster_lease_start(&o, &cl, &err), RC_EIO);
	assert_null(cl);
	assert_non_null(strstr(err.msg, "cannot connect to NATS"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wrap_shard),
		cmocka_unit_test(test_spec_section),
		cmocka_unit_test(test_start_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
