#include "daemon/http_date.hpp"

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
    return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
           h * 3600 + mi * 60 + se;
}

} // namespace

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = floor_div(y, 400);
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = floor_div(z, 146097);
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

std::string format_http_date(std::int64_t t) {
    const std::int64_t days = floor_div(t, 86400);
    const std::int64_t secs = t - days * 86400;
    int y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    const auto wday = static_cast<std::size_t>(((days % 7) + 7) % 7);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", k_days[wday].data(), d,
                  k_months[m - 1].data(), y, static_cast<int>(secs / 3600),
                  static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
    return buf;
}

std::string format_rfc3339_utc(std::int64_t t) {
    const std::int64_t days = floor_div(t, 86400);
    const std::int64_t secs = t - days * 86400;
    int y;
    unsigned m, d;
    civil_from_days(days, y, m, d);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
                  static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60),
                  static_cast<int>(secs % 60));
    return buf;
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
