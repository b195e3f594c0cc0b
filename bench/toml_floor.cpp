// What toml++ alone costs here: the floor under `casacal export`'s parse.
//
//     toml_floor THREADS FILE...
//
// Reads and parses every FILE with toml++ (the same build of it, and the
// same allocator, as casacal) on THREADS threads, a file at a time, and
// does nothing else: no schema, no calendar, no feed. Like casacal's
// one-shot commands it leaves the parsed tables to the end of the process
// instead of freeing them. bench/run.py times the whole process with
// hyperfine, as it times `casacal export`. Exits 1 if a file does not parse.

#include <toml++/toml.h>

#ifdef CASACAL_JEMALLOC
// casacal's allocator settings: one arena (daemon/memory.cpp), and huge
// pages, which casacal asks for its one-shot commands.
extern "C" const char* malloc_conf;
const char* malloc_conf = "narenas:1,thp:always";
#endif

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: toml_floor THREADS FILE...\n");
        return 2;
    }
    const unsigned threads = std::max(1, std::atoi(argv[1]));
    const std::vector<const char*> files(argv + 2, argv + argc);
    // Kept to the end of the process, as casacal keeps what it parsed.
    auto* parsed = new std::vector<toml::table>(files.size());
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    const auto work = [&] {
        for (std::size_t i = next++; i < files.size(); i = next++) {
            std::ifstream in(files[i], std::ios::binary);
            const std::string text{std::istreambuf_iterator<char>(in), {}};
            try {
                (*parsed)[i] = toml::parse(text);
            } catch (const toml::parse_error& e) {
                std::fprintf(stderr, "%s: %s\n", files[i], std::string(e.description()).c_str());
                failed = true;
            }
        }
    };
    std::vector<std::thread> helpers;
    for (unsigned t = 1; t < std::min<std::size_t>(threads, files.size()); ++t)
        helpers.emplace_back(work);
    work();
    for (auto& h : helpers)
        h.join();
    return failed ? 1 : 0;
}
