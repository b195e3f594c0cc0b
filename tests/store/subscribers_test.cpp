#include "store/subscribers.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>

using namespace casacal;
using namespace casacal::store;

namespace {

subscriber camille() {
    return {"camille@example.org", "Camille", {"apero", "casacademie"}, "fr", std::nullopt, 0};
}

} // namespace

TEST_CASE("subscribers: double opt-in", "[store]") {
    auto db = database::open(":memory:");
    subscribers subs(db);

    CHECK(subs.add_pending(camille(), "hash-1", 1000) == add_outcome::pending);
    CHECK(subs.confirmed().empty());

    SECTION("an unknown hash confirms nothing") {
        CHECK(subs.confirm("hash-x", 1100) == std::nullopt);
        CHECK(subs.confirmed().empty());
    }
    SECTION("a second request soon after keeps the link and takes the new choices") {
        auto changed = camille();
        changed.email = "Camille@Example.org";
        changed.categories = {"*"};
        CHECK(subs.add_pending(changed, "hash-2", 1050) == add_outcome::already_pending);
        CHECK(subs.add_pending(changed, "hash-3", 999 + confirm_interval) ==
              add_outcome::already_pending);
        CHECK(subs.confirm("hash-2", 1100) == std::nullopt);
        CHECK(subs.confirm("hash-1", 1100) == std::optional<std::string>{"camille@example.org"});
        REQUIRE(subs.confirmed().size() == 1);
        CHECK(subs.confirmed()[0].categories == std::vector<std::string>{"*"});
    }
    SECTION("a link whose email did not go is replaced by the next request at once") {
        CHECK(subs.pending("hash-1", 1100) == std::optional<std::string>{"camille@example.org"});
        subs.confirmation_failed("hash-1");
        CHECK(subs.add_pending(camille(), "hash-2", 1050) == add_outcome::pending);
        CHECK(subs.pending("hash-1", 1100) == std::nullopt);
        CHECK(subs.confirm("hash-2", 1100) == std::optional<std::string>{"camille@example.org"});
    }
    SECTION("a request once the link has stood confirm_interval replaces it") {
        auto changed = camille();
        changed.categories = {"*"};
        CHECK(subs.add_pending(changed, "hash-2", 1000 + confirm_interval) == add_outcome::pending);
        CHECK(subs.confirm("hash-1", 2000) == std::nullopt);
        CHECK(subs.confirm("hash-2", 2000) == std::optional<std::string>{"camille@example.org"});
        REQUIRE(subs.confirmed().size() == 1);
        CHECK(subs.confirmed()[0].categories == std::vector<std::string>{"*"});
    }
    SECTION("a link older than confirm_lifetime confirms nothing") {
        CHECK(subs.pending("hash-1", 1000 + confirm_lifetime) == std::nullopt);
        CHECK(subs.confirm("hash-1", 1000 + confirm_lifetime) == std::nullopt);
        CHECK(subs.confirmed_by("hash-1") == std::nullopt);
        CHECK(subs.confirm("hash-1", 999 + confirm_lifetime) ==
              std::optional<std::string>{"camille@example.org"});
    }
    SECTION("the link confirms once, and is known as the one that did") {
        CHECK(subs.confirmed_by("hash-1") == std::nullopt);
        CHECK(subs.confirm("hash-1", 1100) == std::optional<std::string>{"camille@example.org"});
        CHECK(subs.confirm("hash-1", 1200) == std::nullopt);
        CHECK(subs.confirmed_by("hash-1") == std::optional<std::string>{"camille@example.org"});
        const auto list = subs.confirmed();
        REQUIRE(list.size() == 1);
        CHECK(list[0].email == "camille@example.org");
        CHECK(list[0].name == "Camille");
        CHECK(list[0].categories == std::vector<std::string>{"apero", "casacademie"});
        CHECK(list[0].locale == "fr");
        CHECK(list[0].confirmed == 1100);
        CHECK(list[0].created == 1000);

        // Subscribing a confirmed address again changes nothing until that
        // address follows the new link: nobody changes another person's choices.
        auto other = camille();
        other.email = "CAMILLE@example.org";
        other.name = "Camille D.";
        other.categories = {"*"};
        CHECK(subs.add_pending(other, "hash-3", 1300) == add_outcome::change_pending);
        CHECK(subs.confirmed()[0].categories == std::vector<std::string>{"apero", "casacademie"});
        CHECK(subs.pending("hash-3", 1400) == std::optional<std::string>{"camille@example.org"});

        SECTION("a change is confirmed by its own link, once") {
            CHECK(subs.confirm("hash-1", 1400) == std::nullopt);
            CHECK(subs.confirm("hash-3", 1400) == std::optional<std::string>{"camille@example.org"});
            CHECK(subs.confirm("hash-3", 1500) == std::nullopt);
            CHECK(subs.confirmed_by("hash-3") == std::optional<std::string>{"camille@example.org"});
            CHECK(subs.confirmed_by("hash-1") == std::nullopt); // replaced by the change's
            const auto now = subs.confirmed();
            REQUIRE(now.size() == 1);
            CHECK(now[0].name == "Camille D.");
            CHECK(now[0].categories == std::vector<std::string>{"*"});
            CHECK(now[0].confirmed == 1100); // still confirmed since then
        }
        SECTION("a second change soon after keeps the link and takes the new choices") {
            auto again = other;
            again.categories = {"casacademie"};
            CHECK(subs.add_pending(again, "hash-4", 1350) == add_outcome::already_pending);
            CHECK(subs.confirm("hash-4", 1400) == std::nullopt);
            CHECK(subs.confirm("hash-3", 1400) == std::optional<std::string>{"camille@example.org"});
            CHECK(subs.confirmed()[0].categories == std::vector<std::string>{"casacademie"});
        }
        SECTION("a change whose email did not go is replaced by the next request at once") {
            subs.confirmation_failed("hash-3");
            CHECK(subs.add_pending(other, "hash-4", 1350) == add_outcome::change_pending);
            CHECK(subs.pending("hash-3", 1400) == std::nullopt);
            CHECK(subs.confirm("hash-4", 1400) == std::optional<std::string>{"camille@example.org"});
        }
        SECTION("an address that unsubscribed starts over, and the old change link is void") {
            subs.unsubscribe("camille@example.org", 1400);
            CHECK(subs.confirmed_by("hash-1") == std::nullopt); // not in force any more
            CHECK(subs.add_pending(camille(), "hash-4", 1500) == add_outcome::pending);
            CHECK(subs.confirm("hash-4", 1600) == std::optional<std::string>{"camille@example.org"});
            CHECK(subs.confirm("hash-3", 1700) == std::nullopt);
            CHECK(subs.confirmed()[0].categories ==
                  std::vector<std::string>{"apero", "casacademie"});
        }
        SECTION("the old change link, followed first, confirms nothing and spares the new one") {
            subs.unsubscribe("camille@example.org", 1400);
            CHECK(subs.pending("hash-3", 1450) == std::nullopt);
            CHECK(subs.add_pending(camille(), "hash-4", 1500) == add_outcome::pending);
            CHECK(subs.pending("hash-3", 1550) == std::nullopt);
            CHECK(subs.confirm("hash-3", 1600) == std::nullopt);
            CHECK(subs.confirmed().empty());
            CHECK(subs.confirm("hash-4", 1700) == std::optional<std::string>{"camille@example.org"});
        }
    }
}

TEST_CASE("subscribers: unsubscribing stops a subscriber and a member alike", "[store]") {
    store::testing::temp_dir dir;
    const auto path = dir.file("casacal.db");
    {
        auto db = database::open(path);
        subscribers subs(db);
        subs.add_pending(camille(), "hash-1", 1000);
        subs.confirm("hash-1", 1100);

        CHECK_FALSE(subs.is_unsubscribed("camille@example.org"));
        subs.unsubscribe("Camille@Example.org", 2000);
        subs.unsubscribe("camille@example.org", 3000); // a second click changes nothing
        subs.unsubscribe("member@example.org", 2000);  // from members.toml
        CHECK(subs.confirmed().empty());
    }
    auto db = database::open(path);
    subscribers subs(db);
    CHECK(subs.is_unsubscribed("camille@example.org"));
    CHECK(subs.is_unsubscribed("MEMBER@example.org"));
    CHECK_FALSE(subs.is_unsubscribed("sam@example.org"));
    CHECK(subs.unsubscribed() ==
          std::set<std::string>{"camille@example.org", "member@example.org"});
    auto& at = db.prepare("SELECT at FROM unsubscribed WHERE email = 'camille@example.org'");
    REQUIRE(at.step());
    CHECK(at.get_int64(0) == 2000);
    at.reset();

    SECTION("subscribing again and confirming lifts the unsubscription") {
        auto again = camille();
        again.categories = {"apero"};
        CHECK(subs.add_pending(again, "hash-again", 5000) == add_outcome::pending);
        CHECK(subs.is_unsubscribed("camille@example.org")); // until the link is followed
        CHECK(subs.confirmed().empty());
        CHECK(subs.confirm("hash-again", 5100) ==
              std::optional<std::string>{"camille@example.org"});
        CHECK_FALSE(subs.is_unsubscribed("camille@example.org"));
        const auto list = subs.confirmed();
        REQUIRE(list.size() == 1);
        CHECK(list[0].categories == std::vector<std::string>{"apero"});
        CHECK(list[0].confirmed == 5100);
    }
}

TEST_CASE("subscribers: tokens are found by hash and purpose", "[store]") {
    auto db = database::open(":memory:");
    subscribers subs(db);
    subs.store_token("u-hash", "camille@example.org", token_purpose::unsubscribe, 1000);
    subs.store_token("f-hash", "camille@example.org", token_purpose::feed, 1000);

    CHECK(subs.find_token("u-hash", token_purpose::unsubscribe) ==
          std::optional<std::string>{"camille@example.org"});
    CHECK(subs.find_token("f-hash", token_purpose::feed) ==
          std::optional<std::string>{"camille@example.org"});
    CHECK(subs.find_token("u-hash", token_purpose::feed) == std::nullopt);
    CHECK(subs.find_token("nope", token_purpose::unsubscribe) == std::nullopt);

    // Storing the same hash again keeps the first owner.
    subs.store_token("u-hash", "mallory@example.org", token_purpose::unsubscribe, 2000);
    CHECK(subs.find_token("u-hash", token_purpose::unsubscribe) ==
          std::optional<std::string>{"camille@example.org"});
}

TEST_CASE("subscribers: unsubscribe links are found by id and the hash of their secret",
          "[store]") {
    auto db = database::open(":memory:");
    subscribers subs(db);
    const auto ids = subs.add_unsubscribe_links(
        {{"hash-1", "camille@example.org"}, {"hash-2", "lea@example.org"}}, 1000);
    REQUIRE(ids.size() == 2);
    CHECK(ids[0] > 0);
    CHECK(ids[1] == ids[0] + 1); // appended: no random page per link
    const auto more = subs.add_unsubscribe_links({{"hash-1", "noe@example.org"}}, 2000);
    REQUIRE(more.size() == 1);
    CHECK(more[0] == ids[1] + 1);

    CHECK(subs.find_unsubscribe_link(ids[0], "hash-1") ==
          std::optional<std::string>{"camille@example.org"});
    CHECK(subs.find_unsubscribe_link(ids[1], "hash-2") ==
          std::optional<std::string>{"lea@example.org"});
    // The same secret hash under another id is another link.
    CHECK(subs.find_unsubscribe_link(more[0], "hash-1") ==
          std::optional<std::string>{"noe@example.org"});
    // An id with the wrong secret, or no such id, finds nothing.
    CHECK(subs.find_unsubscribe_link(ids[0], "hash-2") == std::nullopt);
    CHECK(subs.find_unsubscribe_link(ids[1] + 100, "hash-2") == std::nullopt);
    CHECK(subs.add_unsubscribe_links({}, 3000).empty());
}

TEST_CASE("subscribers: the feed key is made once, random, and kept across restarts", "[store]") {
    testing::temp_dir dir;
    std::string key;
    {
        auto db = database::open(dir.file("casacal.db"));
        subscribers subs(db);
        key = subs.feed_key();
        CHECK(key.size() == 64);
        CHECK(key.find_first_not_of("0123456789abcdef") == std::string::npos);
        CHECK(subs.feed_key() == key);
    }
    auto db = database::open(dir.file("casacal.db"));
    CHECK(subscribers(db).feed_key() == key);
    auto other = database::open(":memory:");
    CHECK(subscribers(other).feed_key() != key);
}
