#include "site_dir.hpp"

#include <catch2/catch.hpp>

using casacal::config::testing::site_dir;
using casacal::config::testing::write_site;
using lines = std::vector<std::string>;

TEST_CASE("a TOML syntax error is reported and the other files are still read", "[config]") {
    site_dir dir;
    write_site(dir, "[[event]]\nid = \"a\"\ntitle = \n");
    dir.write("events.d/b.toml", R"([[event]]
id = "b"
title = "B"
category = "aperp"
start = 2026-12-03T18:30:00
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:3:9: error: Error while parsing key-value pair: expected value, saw "
              "'\\n'",
              "events.d/b.toml:4:12: error: unknown category 'aperp'; did you mean 'apero'?",
          });
}

TEST_CASE("TOML syntax errors toml++ words unclearly are said plainly", "[config]") {
    const std::pair<const char*, const char*> cases[] = {
        {"location = \"Salle 2\ntitle = \"A\"\n",
         "events.d/a.toml:3:20: error: unterminated string: the line ends before its closing "
         "quote (text over several lines goes between triple quotes, \"\"\"like this\"\"\")"},
        {"location = 'Salle 2\r\ntitle = \"A\"\n",
         "events.d/a.toml:3:20: error: unterminated string: the line ends before its closing "
         "quote (text over several lines goes between triple quotes, \"\"\"like this\"\"\")"},
        {"description = \"\"\"Deux jours.\nOuvert.\n",
         "events.d/a.toml:4:9: error: unterminated string: the file ends before its closing quote"},
        // toml++ 3.3 says "between 0 to 59"
        {"start = 2027-01-20T25:00:00\n",
         "events.d/a.toml:3:9: error: Error while parsing time: expected hour between 0 and 23 "
         "(inclusive), saw 25"},
        // Placed on the date, not on the character after its bad field.
        {"exdates = [2027-01-20T10:00:00, 2027-02-30T10:00:00]\n",
         "events.d/a.toml:3:33: error: Error while parsing date: expected day between 1 and 28 "
         "(inclusive), saw 30"},
        // A control character inside the line is what toml++ says it is.
        {"location = \"Sa\x01lle\"\n",
         "events.d/a.toml:3:15: error: Error while parsing string: unescaped control characters "
         "other than TAB (U+0009) are explicitly prohibited"},
    };
    for (const auto& [text, said] : cases) {
        INFO(text);
        site_dir dir;
        write_site(dir, std::string("[[event]]\nid = \"a\"\n") + text);
        const auto found = dir.problems();
        REQUIRE_FALSE(found.empty());
        CHECK(found[0] == said);
    }
}

TEST_CASE("bytes that are not UTF-8 are placed on the bad byte itself", "[config]") {
    // toml++ names the character before the bad one, and the end of the
    // previous line when the bad byte starts a line.
    site_dir dir;
    write_site(dir, "[[event]]\nid = \"a\"\ntitle = \"caf\xc3\xa9 \xed\xa0\x80\"\n");
    dir.write("events.d/b.toml", "[[event]]\nid = \"b\"\n\xff = 1\n");
    dir.write("events.d/c.toml", "# d\xc3\xa9j\xc3\n");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:3:15: error: invalid UTF-8 (byte 0xED): the file must be saved as "
              "UTF-8",
              "events.d/b.toml:3:1: error: invalid UTF-8 (byte 0xFF): the file must be saved as "
              "UTF-8",
              "events.d/c.toml:1:6: error: invalid UTF-8 (byte 0xC3): the file must be saved as "
              "UTF-8",
          });
}

TEST_CASE("a key nested deeper than the stack can take is refused before parsing", "[config]") {
    // 200,000 dotted parts crashed the loader: toml++ and the tables'
    // destructors recurse once per level.
    std::string deep;
    for (int i = 0; i < 200000; ++i)
        deep += i ? ".a" : "a";
    site_dir dir;
    write_site(dir, "# deep\n" + deep + " = 1\n");
    CHECK(dir.problems() ==
          lines{"events.d/a.toml:2:1: error: line with 199999 dots: keys nested that deep are "
                "refused (at most 1000 dots a line)"});

    // 1000 dots a line, in a header and a key below it, is read (and
    // reported for what it is).
    std::string header, key;
    for (int i = 0; i <= 1000; ++i) {
        header += i ? ".h" : "h";
        key += i ? ".k" : "k";
    }
    site_dir ok;
    write_site(ok, "[" + header + "]\n" + key + " = 1\n");
    CHECK(ok.problems() == lines{"events.d/a.toml:1:2: error: unknown table [h]"});
}

TEST_CASE("unknown keys are reported, with a hint when close to a known one", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
titel = "A"
category = "apero"
start = 2026-12-03T18:30:00
colour_scheme = "dark"

[[evnt]]
id = "b"

[evvent]
id = "c"
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:1:1: error: missing required key 'title' in [[event]]",
              "events.d/a.toml:3:1: error: unknown key 'titel' in [[event]]; did you mean 'title'?",
              "events.d/a.toml:6:1: error: unknown key 'colour_scheme' in [[event]]",
              "events.d/a.toml:8:3: error: unknown table [[evnt]]; did you mean [[event]]?",
              "events.d/a.toml:11:2: error: unknown table [evvent]; did you mean [[event]]?",
          });
}

TEST_CASE("values of the wrong type are reported at the value", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
title = "A"
category = "apero"
start = "2026-12-03T18:30:00"
offsets = "P1D"
location = 12
[[event]]
id = "b"
title = "B"
category = "apero"
start = 18:30:00
offsets = ["P1D", 2]
exdates = 2026-12-03
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:5:9: error: 'start' must be a date or date-time, not a string",
              "events.d/a.toml:6:11: error: 'offsets' must be an array of durations like \"PT2H\"",
              "events.d/a.toml:7:12: error: 'location' must be a string, not an integer",
              "events.d/a.toml:12:9: error: 'start' must be a date or date-time, not a time of day",
              "events.d/a.toml:13:19: error: 'offsets' must be an array of durations like \"PT2H\"",
              "events.d/a.toml:14:11: error: 'exdates' must be an array of dates or date-times",
          });
}

TEST_CASE("dates before 1970 or after 9999 are out of range", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
title = "A"
category = "apero"
start = 1969-12-31T23:00:00
exdates = [9999-12-31T23:00:00-05:00]
[[event]]
id = "b"
title = "B"
category = "apero"
start = 1970-01-01
end = 9999-12-30
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:5:9: error: 'start' is out of range: years 1970 to 9999 only",
              "events.d/a.toml:6:12: error: 'exdates' is out of range: years 1970 to 9999 only",
          });
}

TEST_CASE("[event] written with single brackets is reported", "[config]") {
    site_dir dir;
    write_site(dir, "[event]\nid = \"a\"\n");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:1:1: error: 'event' must be an array of tables: write [[event]]",
          });
}

TEST_CASE("missing required keys are reported at the table header", "[config]") {
    site_dir dir;
    write_site(dir, R"(
  [[event]]
  id = "a"

[[event]]
id = "b"
title = ""
category = "apero"
start = 2026-12-03

[[event]]
id = "c"
title = " \u00a0\t"
category = "apero"
start = 2026-12-03
rrule = ""
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:2:3: error: missing required key 'title' in [[event]]",
              "events.d/a.toml:2:3: error: missing required key 'category' in [[event]]",
              "events.d/a.toml:2:3: error: missing required key 'start' in [[event]]",
              "events.d/a.toml:7:9: error: 'title' must not be empty",
              "events.d/a.toml:13:9: error: 'title' must not be only spaces",
              "events.d/a.toml:16:9: error: 'rrule' must not be empty: leave it out for an event "
              "that does not repeat",
          });
}

TEST_CASE("ids must be lowercase letters, digits and dashes", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "Casa Pero"
title = "A"
category = "apero"
start = 2026-12-03
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:2:6: error: invalid id 'Casa Pero': use only a-z, 0-9 and '-'",
          });
}

TEST_CASE("a duplicate id across files names the first place", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "casapero"
title = "A"
category = "apero"
start = 2026-12-03
)");
    dir.write("events.d/b.toml", R"([[programme]]
id = "casapero"
title = "B"
category = "weekend"
[[programme.session]]
title = "S"
start = 2026-12-05T10:00:00
)");
    CHECK(dir.problems() == lines{
                                "events.d/b.toml:2:6: error: duplicate id 'casapero' (first "
                                "defined at events.d/a.toml:2:6)",
                            });
}

TEST_CASE("an event id may not be the UID of a programme's session", "[config]") {
    site_dir dir;
    write_site(dir, R"([[programme]]
id = "weekend"
title = "B"
category = "weekend"
[[programme.session]]
title = "S1"
start = 2026-12-05T10:00:00
[[programme.session]]
title = "S2"
start = 2026-12-05T14:00:00
)");
    dir.write("events.d/b.toml", R"([[event]]
id = "weekend-3"
title = "A"
category = "apero"
start = 2026-12-03

[[event]]
id = "weekend-2"
title = "A"
category = "apero"
start = 2026-12-03
)");
    CHECK(dir.problems() == lines{
                                "events.d/b.toml:8:6: error: id 'weekend-2' is the UID of "
                                "session 2 of programme 'weekend' (defined at "
                                "events.d/a.toml:2:6)",
                            });
}

TEST_CASE("unknown categories get a hint when one is close", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
title = "A"
category = "aperos"
start = 2026-12-03
[[event]]
id = "b"
title = "B"
category = "concert"
start = 2026-12-03
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:4:12: error: unknown category 'aperos'; did you mean 'apero'?",
              "events.d/a.toml:9:12: error: unknown category 'concert'",
          });
}

TEST_CASE("end and duration cannot both be given", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
title = "A"
category = "apero"
start = 2026-12-03T18:30:00
end = 2026-12-03T20:00:00
duration = "PT2H"
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:7:12: error: 'end' and 'duration' cannot both be given",
          });
}

TEST_CASE("end before start is reported for date-times and dates", "[config]") {
    site_dir dir;
    const auto event = [](std::string id, std::string start, std::string end) {
        return "[[event]]\nid = \"" + id +
               "\"\ntitle = \"T\"\ncategory = \"apero\"\nstart = " + start + "\nend = " + end +
               "\n";
    };
    write_site(dir, event("a", "2026-12-03T18:30:00", "2026-12-03T17:00:00") +     // lines 1-6
                        event("b", "2026-12-13", "2026-12-12") +                   // 7-12
                        event("c", "2026-12-13", "2026-12-13") +                   // 13-18: one day
                        event("d", "2026-12-03T18:30:00", "2026-12-03T18:30:00") + // 19-24
                        event("e", "2026-12-03T18:30:00+01:00", "2026-12-03T17:00:00Z") + // 25-30
                        event("f", "2026-12-03T18:30:00",
                              "2026-12-03T17:00:00Z") +                   // 31-36: needs the zone
                        event("g", "2026-12-03", "2026-12-04T10:00:00")); // 37-42
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:6:7: error: 'end' (2026-12-03T17:00:00) is before 'start' "
              "(2026-12-03T18:30:00)",
              "events.d/a.toml:12:7: error: 'end' (2026-12-12) is before 'start' (2026-12-13)",
              "events.d/a.toml:24:7: error: 'end' (2026-12-03T18:30:00) is not after 'start' "
              "(2026-12-03T18:30:00)",
              "events.d/a.toml:30:7: error: 'end' (2026-12-03T17:00:00Z) is before 'start' "
              "(2026-12-03T17:30:00Z)",
              "events.d/a.toml:42:7: error: 'end' must be a date like 'start', not a date-time",
          });
}

TEST_CASE("malformed durations are reported at the value", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
title = "A"
category = "apero"
start = 2026-12-03T18:30:00
duration = "P1X"
offsets = ["PT", "P1D", "2H"]
)");
    CHECK(dir.problems() == lines{
                                "events.d/a.toml:6:12: error: invalid duration 'P1X': expected ISO "
                                "8601 like \"PT2H\" or \"P1D\"",
                                "events.d/a.toml:7:12: error: invalid duration 'PT': expected ISO "
                                "8601 like \"PT2H\" or \"P1D\"",
                                "events.d/a.toml:7:25: error: invalid duration '2H': expected ISO "
                                "8601 like \"PT2H\" or \"P1D\"",
                            });
}

TEST_CASE("status must be one of the three", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
title = "A"
category = "apero"
start = 2026-12-03T18:30:00
status = "confirmd"
)");
    CHECK(dir.problems() == lines{
                                "events.d/a.toml:6:10: error: 'status' must be \"confirmed\", "
                                "\"tentative\" or \"cancelled\", not 'confirmd'",
                            });
}

TEST_CASE("organizer and url are checked", "[config]") {
    site_dir dir;
    write_site(dir, R"toml([[event]]
id = "a"
title = "A"
category = "apero"
start = 2026-12-03T18:30:00
organizer = "Aurélien <aurelien@casaco>"
url = "javascript:alert(1)"
[[event]]
id = "b"
title = "B"
category = "apero"
start = 2026-12-03T18:30:00
organizer = "aurelien casaco.example"
url = "https://casaco.example/?a=1&b=\"<x>"
)toml");
    CHECK(dir.problems() == lines{
                                "events.d/a.toml:6:13: error: invalid email address 'Aurélien "
                                "<aurelien@casaco>': the domain 'casaco' has no '.'",
                                "events.d/a.toml:7:7: error: invalid url 'javascript:alert(1)': it "
                                "must start with http:// or https://",
                                "events.d/a.toml:13:13: error: invalid email address 'aurelien "
                                "casaco.example': missing '@'",
                                "events.d/a.toml:14:7: error: invalid url "
                                "'https://casaco.example/?a=1&b=\"<x>': it contains '\"', which a "
                                "URL writes as %22",
                            });
}

TEST_CASE("strings that go into headers must not hold line breaks", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
title = "Casa\npéro"
category = "apero"
start = 2026-12-03T18:30:00
location = "Salle\u0000 2"
description = """Two
lines are fine here."""
price = "5\r\nBcc: x@y.example"
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:3:9: error: 'title' must not contain line breaks",
              "events.d/a.toml:6:12: error: 'location' must not contain control characters",
              "events.d/a.toml:9:9: error: 'price' must not contain line breaks",
          });
}

TEST_CASE("overrides need a recurring event and a recurrence_id", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
title = "A"
category = "apero"
start = 2026-12-03T18:30:00

[[event.override]]
recurrence_id = 2026-12-03T18:30:00
status = "cancelled"

[[event]]
id = "b"
title = "B"
category = "apero"
start = 2026-12-03T18:30:00
rrule = "FREQ=WEEKLY"

[[event.override]]
title = "Moved"
startt = 2026-12-11T18:30:00
)");
    CHECK(dir.problems() == lines{
                                "events.d/a.toml:7:1: error: [[event.override]] needs a recurring "
                                "event, but this [[event]] has no 'rrule'",
                                "events.d/a.toml:18:1: error: missing required key 'recurrence_id' "
                                "in [[event.override]]",
                                "events.d/a.toml:20:1: error: unknown key 'startt' in "
                                "[[event.override]]; did you mean 'start'?",
                            });
}

TEST_CASE("exdates and recurrence ids must be of the same kind as start", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "a"
title = "A"
category = "apero"
start = 2026-12-03T18:30:00
rrule = "FREQ=WEEKLY"
exdates = [2026-12-10T18:30:00, 2026-12-17, 2026-12-24T17:30:00Z]
[[event.override]]
recurrence_id = 2026-12-31
start = 2027-01-01
)");
    CHECK(dir.problems() == lines{
                                "events.d/a.toml:7:33: error: 'exdates' must be a local date-time "
                                "like 'start', not a date",
                                "events.d/a.toml:7:45: error: 'exdates' must be a local date-time "
                                "like 'start', not an offset date-time",
                                "events.d/a.toml:9:17: error: 'recurrence_id' must be a local "
                                "date-time like 'start', not a date",
                                "events.d/a.toml:10:9: error: 'start' must be a date-time like the "
                                "event's 'start', not a date",
                            });
}

TEST_CASE("programmes need sessions and keep times in them", "[config]") {
    site_dir dir;
    write_site(dir, R"([[programme]]
id = "weekend"
title = "Week-end"
category = "weekend"

[[programme]]
id = "weekend-2"
title = "Week-end"
category = "weekend"
start = 2026-12-12
  [[programme.session]]
  start = 2026-12-12T10:00:00
  end = 2026-12-12T09:00:00
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:1:1: error: missing [[programme.session]] in [[programme]]",
              "events.d/a.toml:10:9: error: 'start' belongs in each [[programme.session]], not in "
              "[[programme]]",
              "events.d/a.toml:11:3: error: missing required key 'title' in [[programme.session]]",
              "events.d/a.toml:13:9: error: 'end' (2026-12-12T09:00:00) is before 'start' "
              "(2026-12-12T10:00:00)",
          });
}

TEST_CASE("several errors in one file are all reported, in file order", "[config]") {
    site_dir dir;
    write_site(dir, R"([[event]]
id = "fête"
title = "Fête"
category = "aperitif"
start = 2026-12-03T18:30:00
end = 2026-12-03
status = "maybe"
timezone = "Europe Paris"
organizer = "nobody"
)");
    CHECK(dir.problems() ==
          lines{
              "events.d/a.toml:2:6: error: invalid id 'fête': use only a-z, 0-9 and '-'",
              "events.d/a.toml:4:12: error: unknown category 'aperitif'",
              "events.d/a.toml:6:7: error: 'end' must be a date-time like 'start', not a date",
              "events.d/a.toml:7:10: error: 'status' must be \"confirmed\", \"tentative\" or "
              "\"cancelled\", not 'maybe'",
              "events.d/a.toml:8:12: error: invalid time zone 'Europe Paris': expected an IANA "
              "name like \"Europe/Paris\"",
              "events.d/a.toml:9:13: error: invalid email address 'nobody': missing '@'",
          });
}

TEST_CASE("events come in file-name order, then file order", "[config]") {
    site_dir dir;
    const auto event = [](std::string id) {
        return "[[event]]\nid = \"" + id +
               "\"\ntitle = \"T\"\ncategory = \"apero\"\nstart = 2026-12-03\n";
    };
    write_site(dir, event("a1") +
                        "[[programme]]\nid = \"a2\"\ntitle = \"P\"\ncategory = \"weekend\"\n"
                        "[[programme.session]]\ntitle = \"S\"\nstart = 2026-12-05\n" +
                        event("a3"));
    dir.write("events.d/0.toml", event("zero"));
    dir.write("events.d/b.toml", event("b1"));
    const auto r = dir.load();
    REQUIRE_FALSE(r.problems.has_errors());
    std::vector<std::string> ids;
    for (const auto& e : r.site.events)
        ids.push_back(e.id);
    CHECK(ids == lines{"zero", "a1", "a2", "a3", "b1"});
}

TEST_CASE("an unreadable events file is reported at its first line", "[config]") {
    site_dir dir;
    write_site(dir, "");
    std::filesystem::create_symlink("nowhere.toml", dir.root() / "events.d/broken.toml");
    CHECK(dir.problems() ==
          lines{
              "events.d/broken.toml:1:1: error: cannot read file: No such file or directory",
          });
}

TEST_CASE("a folder named like an events file is reported, not skipped", "[config]") {
    site_dir dir;
    write_site(dir, "");
    dir.mkdir("events.d/x.toml");
    CHECK(dir.problems() == lines{"events.d/x.toml:1:1: error: cannot read file: Is a directory"});
}
