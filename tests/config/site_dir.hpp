#pragma once
// A throwaway site folder for config tests: write files, load, read the
// diagnostics as a user would see them (paths relative to the folder).

#include "config/site.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace casacal::config::testing {

class site_dir {
  public:
    site_dir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "casacal-config-XXXXXX").string();
        if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
        root_ = pattern;
    }
    ~site_dir() {
        std::error_code ec;
        std::filesystem::remove_all(root_, ec);
    }
    site_dir(const site_dir&) = delete;
    site_dir& operator=(const site_dir&) = delete;

    const std::filesystem::path& root() const { return root_; }

    void write(const std::filesystem::path& relative, const std::string& content) const {
        const auto file = root_ / relative;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << content;
    }

    void mkdir(const std::filesystem::path& relative) const {
        std::filesystem::create_directories(root_ / relative);
    }

    load_result load(const std::filesystem::path& main = "casacal.toml",
                     const site* previous = nullptr) const {
        return config::load(root_ / main, previous);
    }

    /// Every diagnostic, sorted and formatted, with the folder's prefix cut.
    std::vector<std::string> problems(const std::filesystem::path& main = "casacal.toml") const {
        return lines(load(main).problems);
    }

    std::vector<std::string> lines(const diagnostics& problems) const {
        const std::string prefix = root_.string() + "/";
        std::vector<std::string> out;
        for (const diagnostic& d : problems.sorted()) {
            std::string line = d.format();
            for (auto at = line.find(prefix); at != std::string::npos; at = line.find(prefix)) {
                line.erase(at, prefix.size());
            }
            out.push_back(line);
        }
        return out;
    }

  private:
    std::filesystem::path root_;
};

/// A valid main file with categories apero, casacademie and weekend.
inline const std::string minimal_main = R"([site]
name = "Casaco"
base_url = "https://agenda.casaco.example"
domain = "casaco.example"

[categories.apero]
name = "Apéros"
[categories.casacademie]
name = "CASAcadémie"
[categories.weekend]
name = "Week-ends"
)";

/// A site with the minimal main file, an empty events folder and `events`
/// as events.d/a.toml.
inline void write_site(const site_dir& dir, const std::string& events) {
    dir.write("casacal.toml", minimal_main);
    dir.write("events.d/a.toml", events);
}

} // namespace casacal::config::testing
