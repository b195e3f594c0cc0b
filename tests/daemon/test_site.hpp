#pragma once
// A small site written into a fresh temporary folder, removed afterwards.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace casacal::daemon::testing {

class test_site {
  public:
    test_site() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "casacal-daemon-XXXXXX").string();
        dir_ = ::mkdtemp(tmpl.data());
        std::filesystem::create_directories(dir_ / "events.d");
        write("casacal.toml", R"([site]
name     = "Casaco"
base_url = "https://agenda.casaco.example"
domain   = "casaco.example"
timezone = "Europe/Paris"
locale   = "fr"
events   = "events.d"
members  = "members.toml"

[storage]
database = "casacal.db"

[categories.apero]
name  = "Apéros"
color = "#e67e22"
[categories.atelier]
name = "Ateliers"
)");
        write("members.toml", "");
        write("events.d/casapero.toml", R"([[event]]
id       = "casapero"
title    = "Casapéro"
category = "apero"
start    = 2026-12-03T18:30:00
end      = 2026-12-03T21:00:00
rrule    = "FREQ=MONTHLY;BYDAY=1TH"
location = "Espace convivial"
)");
    }
    ~test_site() {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    test_site(const test_site&) = delete;
    test_site& operator=(const test_site&) = delete;

    void write(const std::string& relative, const std::string& text) const {
        std::ofstream(dir_ / relative, std::ios::binary | std::ios::trunc) << text;
    }
    std::string read(const std::string& relative) const {
        std::ifstream in(dir_ / relative, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    void remove(const std::string& relative) const { std::filesystem::remove(dir_ / relative); }
    std::filesystem::path main_file() const { return dir_ / "casacal.toml"; }
    const std::filesystem::path& dir() const { return dir_; }

  private:
    std::filesystem::path dir_;
};

} // namespace casacal::daemon::testing
