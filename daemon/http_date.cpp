#include "daemon/http_date.hpp"

#include "calendar/zone.hpp"

#include <array>
#include <cstdio>

namespace casacal::daemon {

namespace {

constexpr std::array<std::string_view, 7> k_days = {"Thu", "Fri", "Sat", "Sun",
                                                    "Mon", "Tue", "Wed"};
constexpr std::array<std::string_view, 12> k_months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

struct cursor {
    std::string_view s;
    std::size_t i = 0;

    bool literal(std::string_view l) {
        if (s.substr(i, l.size()) != l) return false;
        i += l.size();
        return true;
    }
    bool spaces() {
        std::size_t start = i;
        while (i < s.size() && s[i] == ' ')
            ++i;
        return i > start;
    }
    bool number(int digits_min, int digits_max, int& out) {
        int n = 0, v = 0;
        while (i < s.size() && n < digits_max && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + (s[i] - '0');
            ++i;
            ++n;
        }
        out = v;
        return n >= digits_min;
    }
    bool month(int& out) {
        for (std::size_t m = 0; m < k_months.size(); ++m)
            if (literal(k_months[m])) {
                out = static_cast<int>(m) + 1;
                return true;
            }
        return false;
    }
    bool time(int& h, int& mi, int& se) {
        return number(2, 2, h) && literal(":") && number(2, 2, mi) && literal(":") &&
               number(2, 2, se);
    }
    bool done() const { return i == s.size(); }
};

std::optional<std::int64_t> make_time(int y, int mo, int d, int h, int mi, int se) {
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
    return calendar::days_from_civil(y, mo, d) * 86400 +
           h * 3600 + mi * 60 + se;
}

} // namespace

std::string format_http_date(std::int64_t t) {
    const std::int64_t days = floor_div(t, 86400);
    const config::civil c = calendar::civil_of(t);
    const auto wday = static_cast<std::size_t>(((days % 7) + 7) % 7);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", k_days[wday].data(), c.day,
                  k_months[static_cast<std::size_t>(c.month - 1)].data(), c.year, c.hour, c.minute,
                  c.second);
    return buf;
}

std::string format_rfc3339_utc(std::int64_t t) {
    return calendar::iso_text(calendar::civil_of(t)) + "Z";
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    {
        cursor c{text};
        c.i = text.find(", ");
        if (c.i != std::string_view::npos && c.i == 3) {
            c.i += 2;
            if (c.number(2, 2, d) && c.spaces() && c.month(mo) && c.spaces() && c.number(4, 4, y) &&
                c.spaces() && c.time(h, mi, se) && c.literal(" GMT") && c.done())
                return make_time(y, mo, d, h, mi, se);
        }
    }
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
    if (auto comma = text.find(", "); comma != std::string_view::npos && comma > 3) {
        cursor c{text, comma + 2};
        if (c.number(2, 2, d) && c.literal("-") && c.month(mo) && c.literal("-") &&
            c.number(2, 2, y) && c.spaces() && c.time(h, mi, se) && c.literal(" GMT") && c.done()) {
            y += y < 70 ? 2000 : 1900;
            return make_time(y, mo, d, h, mi, se);
        }
    }
    // asctime: Sun Nov  6 08:49:37 1994
    if (text.size() > 4 && text[3] == ' ') {
        cursor c{text, 4};
        if (c.month(mo) && c.spaces() && c.number(1, 2, d) && c.spaces() && c.time(h, mi, se) &&
            c.spaces() && c.number(4, 4, y) && c.done())
            return make_time(y, mo, d, h, mi, se);
    }
    return std::nullopt;
}

} // namespace casacal::daemon
