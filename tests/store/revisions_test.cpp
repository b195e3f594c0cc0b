#include "store/error.hpp"
#include "store/revisions.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace casacal;
using store::database;
using store::revisions;

namespace {

// (sequence, modified): revision has no operator== of its own.
using seq_mod = std::pair<int, calendar::unix_time>;

seq_mod rev(int sequence, calendar::unix_time modified) {
    return {sequence, modified};
}

seq_mod of(const calendar::revision& r) {
    return {r.sequence, r.modified};
}

std::map<std::string, seq_mod> of(const calendar::revision_map& m) {
    std::map<std::string, seq_mod> out;
    for (const auto& [uid, r] : m)
        out[uid] = of(r);
    return out;
}

} // namespace

TEST_CASE("revisions: new, unchanged, changed, deleted and returning UIDs", "[store]") {
    auto db = database::open(":memory:");
    revisions table(db);

    auto first = table.apply({{"a@casaco.example", "h1"}, {"b@casaco.example", "h2"}}, 100);
    REQUIRE(first.size() == 2);
    CHECK(of(first["a@casaco.example"]) == rev(0, 100));
    CHECK(of(first["b@casaco.example"]) == rev(0, 100));

    SECTION("unchanged hashes keep sequence and modified") {
        auto again = table.apply({{"a@casaco.example", "h1"}, {"b@casaco.example", "h2"}}, 200);
        CHECK(of(again["a@casaco.example"]) == rev(0, 100));
        CHECK(of(again["b@casaco.example"]) == rev(0, 100));
    }
    SECTION("a changed hash bumps the sequence and moves modified") {
        auto changed = table.apply({{"a@casaco.example", "h1*"}, {"b@casaco.example", "h2"}}, 200);
        CHECK(of(changed["a@casaco.example"]) == rev(1, 200));
        CHECK(of(changed["b@casaco.example"]) == rev(0, 100));
        auto twice = table.apply({{"a@casaco.example", "h1**"}, {"b@casaco.example", "h2"}}, 300);
        CHECK(of(twice["a@casaco.example"]) == rev(2, 300));
    }
    SECTION("a UID left out is marked deleted, and continues its sequence when it returns") {
        auto without = table.apply({{"a@casaco.example", "h1"}}, 200);
        CHECK(without.size() == 1);
        CHECK(table.current().count("b@casaco.example") == 0);
        // Leaving it out again does not move the deletion time.
        table.apply({{"a@casaco.example", "h1"}}, 250);
        auto& st = db.prepare("SELECT deleted FROM revisions WHERE uid = 'b@casaco.example'");
        REQUIRE(st.step());
        CHECK(st.get_int64(0) == 200);
        st.reset();

        // What a cancellation notice of the gone event reads.
        REQUIRE(table.last("b@casaco.example"));
        CHECK(of(*table.last("b@casaco.example")) == rev(0, 100));
        CHECK_FALSE(table.last("never@casaco.example"));

        auto back = table.apply({{"a@casaco.example", "h1"}, {"b@casaco.example", "h2"}}, 300);
        CHECK(of(back["b@casaco.example"]) == rev(1, 300));
        CHECK(of(table.current()["b@casaco.example"]) == rev(1, 300));
    }
    SECTION("a master and its overrides share one UID and one revision") {
        auto with_override = table.apply(
            {{"a@casaco.example", "h1"}, {"a@casaco.example", "o1"}, {"b@casaco.example", "h2"}},
            200);
        CHECK(with_override.size() == 2);
        CHECK(of(with_override["a@casaco.example"]) == rev(1, 200));
        auto same = table.apply(
            {{"a@casaco.example", "h1"}, {"a@casaco.example", "o1"}, {"b@casaco.example", "h2"}},
            300);
        CHECK(of(same["a@casaco.example"]) == rev(1, 200));
        auto override_changed = table.apply(
            {{"a@casaco.example", "h1"}, {"a@casaco.example", "o2"}, {"b@casaco.example", "h2"}},
            400);
        CHECK(of(override_changed["a@casaco.example"]) == rev(2, 400));
    }
    SECTION("an empty site marks everything deleted") {
        CHECK(table.apply({}, 200).empty());
        CHECK(table.current().empty());
    }
}

TEST_CASE("revisions survive a restart and applying them again changes nothing", "[store]") {
    store::testing::temp_dir dir;
    const auto path = dir.file("casacal.db");
    const std::vector<calendar::fingerprint> site = {{"a@casaco.example", "h1"},
                                                     {"b@casaco.example", "h2"}};
    {
        auto db = database::open(path);
        revisions table(db);
        table.apply(site, 100);
        table.apply({{"a@casaco.example", "h1*"}, {"b@casaco.example", "h2"}}, 200);
    }
    auto db = database::open(path);
    revisions table(db);
    auto map = table.apply({{"a@casaco.example", "h1*"}, {"b@casaco.example", "h2"}}, 900);
    CHECK(of(map["a@casaco.example"]) == rev(1, 200));
    CHECK(of(map["b@casaco.example"]) == rev(0, 100));
    CHECK(of(table.current()) == of(map));
}

TEST_CASE("revisions: UIDs given out of order, new ones before, between and after stored ones",
          "[store]") {
    auto db = database::open(":memory:");
    revisions table(db);
    table.apply({{"d", "hd"}, {"b", "hb"}, {"f", "hf"}}, 100);

    // Unsorted, with a UID in two parts: the stored pass meets them in order.
    auto now = table.apply({{"e", "he"}, {"d", "hd*"}, {"a", "ha"}, {"b", "hb"}, {"c", "hc"},
                            {"g", "hg1"}, {"g", "hg2"}},
                           200);
    CHECK(of(now) == std::map<std::string, seq_mod>{{"a", rev(0, 200)},
                                                    {"b", rev(0, 100)},
                                                    {"c", rev(0, 200)},
                                                    {"d", rev(1, 200)},
                                                    {"e", rev(0, 200)},
                                                    {"g", rev(0, 200)}});
    CHECK(table.current().count("f") == 0); // left out: deleted
    // The parts of "g" are hashed together in the order given.
    auto& st = db.prepare("SELECT hash FROM revisions WHERE uid = 'g'");
    REQUIRE(st.step());
    CHECK(st.get_text(0) == "hg1\nhg2");
    st.reset();
    CHECK(of(table.apply({{"g", "hg1"}, {"g", "hg2"}}, 300)["g"]) == rev(0, 200));
}

TEST_CASE("revisions: a row edited into nonsense is an error naming the column", "[store]") {
    auto db = database::open(":memory:");
    revisions table(db);
    table.apply({{"a@casaco.example", "h1"}, {"b@casaco.example", "h2"}}, 100);
    const auto message = [&] {
        try {
            table.apply({{"a@casaco.example", "h1"}, {"b@casaco.example", "h2"}}, 200);
        } catch (const store::error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };

    db.exec("UPDATE revisions SET sequence = 'abc' WHERE uid = 'a@casaco.example'");
    CHECK_THAT(message(), Catch::Contains("column 'sequence' holds 'abc', not an integer from 0"));
    db.exec("UPDATE revisions SET sequence = 2147483647 WHERE uid = 'a@casaco.example'");
    CHECK_THAT(message(), Catch::Contains("column 'sequence' holds '2147483647'"));
    db.exec("UPDATE revisions SET sequence = 3, modified = -5 WHERE uid = 'a@casaco.example'");
    CHECK_THAT(message(), Catch::Contains("column 'modified' holds '-5'"));
    CHECK_THAT(message(), Catch::Contains("FROM revisions"));
    CHECK_THROWS_AS(table.current(), store::error);

    // Mended, the same connection reads it again.
    db.exec("UPDATE revisions SET modified = 150 WHERE uid = 'a@casaco.example'");
    const auto mended = table.apply({{"a@casaco.example", "h1"}, {"b@casaco.example", "h2"}}, 200);
    CHECK(of(mended.at("a@casaco.example")) == rev(3, 150));
}
