#pragma once
// What the notify tests share: a scratch folder, running an
// io_context until something happened, reading files.

#include "notify/message.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <string>

namespace casacal::notify::testing {

/// A fresh folder under $TMPDIR, removed with its content at the end.
class scratch_dir {
public:
    scratch_dir() {
        auto pattern = (std::filesystem::temp_directory_path() / "casacal-notify-XXXXXX").string();
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~scratch_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    scratch_dir(const scratch_dir&) = delete;
    scratch_dir& operator=(const scratch_dir&) = delete;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

/// Runs `io` until `done()` holds or `limit` passed; returns done().
inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
        io.restart();
        io.run_for(std::chrono::milliseconds(10));
    }
    return done();
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error("cannot read " + path.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

inline const std::string k_ics =
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Casaco//casacal//FR\r\nMETHOD:PUBLISH\r\n"
    "BEGIN:VEVENT\r\nUID:casapero@casaco.example\r\nDTSTAMP:20261101T090000Z\r\n"
    "RECURRENCE-ID;TZID=Europe/Paris:20261203T183000\r\n"
    "DTSTART;TZID=Europe/Paris:20261203T183000\r\nSUMMARY:Casap\xC3\xA9ro\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n";

/// The reminder of the product page, to Camille.
inline message sample_message() {
    message m;
    m.from = {"Casaco", "agenda@casaco.example"};
    m.to = {"Camille", "camille@example.org"};
    m.subject = "Rappel : Casap\xC3\xA9ro \xE2\x80\x94 jeudi 3 d\xC3\xA9" "cembre \xC3\xA0 18h30";
    m.date = 1796319000; // 2026-12-03T17:30:00Z
    m.utc_offset_minutes = 60;
    m.message_id = "reminder.casapero.20261203T1830.p1d.camille@casaco.example";
    m.list_id_domain = "casaco.example";
    m.list_unsubscribe = "https://agenda.casaco.example/unsubscribe/Tok3n_abc";
    m.text = "Bonjour Camille,\n\nLe Casap\xC3\xA9ro a lieu jeudi \xC3\xA0 18h30.\n.\n"
             "..deux points\nFrom the team\n";
    m.html = "<p>Bonjour Camille,</p><p>Le <b>Casap\xC3\xA9ro</b> a lieu jeudi.</p>";
    m.calendar = calendar_attachment{k_ics, "PUBLISH", "invitation.ics"};
    return m;
}

} // namespace casacal::notify::testing
