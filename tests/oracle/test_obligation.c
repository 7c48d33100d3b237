/* Obligations: missed exactly when the deadline has passed unmet (or met late), the
 * first meeting counts, the missed list and its limits, and reuse after reset. */
#include "ts_obligation.h"
#include "tstest.h"

#define S TS_SEC

TS_TEST(an_obligation_is_missed_only_once_its_deadline_has_passed_unmet) {
  ts_obligations *o;
  TS_CHECK_INT(ts_obligations_create(4, &o), ==, 0);
  TS_CHECK_INT(ts_obligations_add(o, "tunnel connected by 30 s", 30 * S), ==, 0);
  const ts_obligation *ob = ts_obligations_find(o, "tunnel connected by 30 s");
  TS_CHECK(ob);
  TS_CHECK_INT(ob->met, ==, TS_TIME_NEVER);
  TS_CHECK(!ts_obligation_is_missed(ob, 29 * S));
  TS_CHECK(!ts_obligation_is_missed(ob, 30 * S)); /* it can still be met at its deadline */
  TS_CHECK(ts_obligation_is_missed(ob, 30 * S + 1));
  /* Met late: still a miss of the deadline, with the time it came. */
  TS_CHECK_INT(ts_obligations_meet(o, "tunnel connected by 30 s", 31 * S), ==, 0);
  TS_CHECK(ts_obligation_is_missed(ob, 40 * S));
  TS_CHECK_INT(ob->met, ==, 31 * S);
  ts_obligations_destroy(o);
}

TS_TEST(met_at_the_deadline_is_kept_and_the_first_meeting_counts) {
  ts_obligations *o;
  TS_CHECK_INT(ts_obligations_create(4, &o), ==, 0);
  TS_CHECK_INT(ts_obligations_add(o, "monitor confirmed by 45 s", 45 * S), ==, 0);
  TS_CHECK_INT(ts_obligations_meet(o, "monitor confirmed by 45 s", 45 * S), ==, 0);
  TS_CHECK_INT(ts_obligations_meet(o, "monitor confirmed by 45 s", 50 * S), ==, 0);
  const ts_obligation *ob = ts_obligations_get(o, 0);
  TS_CHECK_INT(ob->met, ==, 45 * S);
  TS_CHECK(!ts_obligation_is_missed(ob, 1000 * S));
  TS_CHECK_INT(ts_obligations_missed(o, 1000 * S, NULL, 0), ==, 0);
  ts_obligations_destroy(o);
}

TS_TEST(the_missed_list_is_in_order_and_counts_past_its_room) {
  ts_obligations *o;
  TS_CHECK_INT(ts_obligations_create(4, &o), ==, 0);
  TS_CHECK_INT(ts_obligations_add(o, "tunnel connected by 30 s", 30 * S), ==, 0);
  TS_CHECK_INT(ts_obligations_add(o, "monitor confirmed by 45 s", 45 * S), ==, 0);
  TS_CHECK_INT(ts_obligations_add(o, "download done by 300 s", 300 * S), ==, 0);
  TS_CHECK_INT(ts_obligations_meet(o, "monitor confirmed by 45 s", 20 * S), ==, 0);
  const ts_obligation *missed[4];
  TS_CHECK_INT(ts_obligations_missed(o, 100 * S, missed, 4), ==, 1);
  TS_CHECK_STR(missed[0]->name, "tunnel connected by 30 s");
  TS_CHECK_INT(ts_obligations_missed(o, 301 * S, missed, 4), ==, 2);
  TS_CHECK_STR(missed[1]->name, "download done by 300 s");
  const ts_obligation *one[1] = {NULL};
  TS_CHECK_INT(ts_obligations_missed(o, 301 * S, one, 1), ==, 2);
  TS_CHECK_STR(one[0]->name, "tunnel connected by 30 s");
  ts_obligations_destroy(o);
}

TS_TEST(bad_names_duplicates_and_a_full_table_are_errors) {
  ts_obligations *o;
  TS_CHECK_INT(ts_obligations_create(2, &o), ==, 0);
  TS_CHECK_INT(ts_obligations_add(o, "", 1), ==, TS_EINVAL);
  TS_CHECK_INT(ts_obligations_add(o, NULL, 1), ==, TS_EINVAL);
  TS_CHECK_INT(ts_obligations_add(o, "a", 1), ==, 0);
  TS_CHECK_INT(ts_obligations_add(o, "a", 2), ==, TS_EEXIST);
  TS_CHECK_INT(ts_obligations_add(o, "b", 2), ==, 0);
  TS_CHECK_INT(ts_obligations_add(o, "c", 3), ==, TS_EFULL);
  TS_CHECK_INT(ts_obligations_meet(o, "c", 3), ==, TS_ENOENT);
  TS_CHECK(ts_obligations_get(o, 2) == NULL);
  ts_obligations_destroy(o);
  ts_obligations *none = NULL;
  TS_CHECK_INT(ts_obligations_create(0, &none), ==, TS_EINVAL);
  TS_CHECK(none == NULL);
  ts_obligations_destroy(NULL);
}

TS_TEST(reset_forgets_every_obligation_and_the_table_is_reused) {
  ts_obligations *o;
  TS_CHECK_INT(ts_obligations_create(2, &o), ==, 0);
  for (int round = 0; round < 3; round++) {
    TS_CHECK_INT(ts_obligations_add(o, "tunnel connected by 30 s", 30 * S), ==, 0);
    TS_CHECK_INT(ts_obligations_add(o, "download done by 300 s", 300 * S), ==, 0);
    TS_CHECK_INT(ts_obligations_missed(o, 400 * S, NULL, 0), ==, 2);
    ts_obligations_reset(o);
    TS_CHECK_INT(ts_obligations_count(o), ==, 0);
    TS_CHECK(ts_obligations_find(o, "tunnel connected by 30 s") == NULL);
  }
  ts_obligations_destroy(o);
}
