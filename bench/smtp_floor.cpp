// What libcurl alone can send here: the floor under casacal's SMTP burst.
//
//     smtp_floor URL MESSAGE COUNT SESSIONS threads|multi
//
// Sends COUNT copies of one reminder to URL over SESSIONS connections, each
// a reused easy handle. `multi` drives them all from one thread through one
// multi handle, as an event loop does; `threads` gives each its own thread
// blocking in curl_easy_perform, libcurl's fastest arrangement for SMTP,
// since libcurl 7.88 waits for the reply to the end of DATA in a blocking
// poll (smtp_done) whatever API drives it. Nothing is planned, stored or
// recorded.
//
// MESSAGE is either a file, the bytes of the reminder (CRLF lines), sent
// as they are; or a folder holding its parts (headers: one header a line;
// text, html, event.ics), from which every message is built with curl_mime
// the way casacal builds its reminders: multipart/mixed holding a
// multipart/alternative of quoted-printable text and HTML, and the
// calendar in base64.
//
// Prints {"sent", "failed", "seconds", "msg_s", "cpu_s"} as JSON on stdout.

#include <curl/curl.h>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct reader {
    const std::string* bytes;
    std::size_t at = 0;
};

std::size_t read_message(char* out, std::size_t size, std::size_t n, void* user) {
    auto* r = static_cast<reader*>(user);
    const std::size_t len = std::min(size * n, r->bytes->size() - r->at);
    std::memcpy(out, r->bytes->data() + r->at, len);
    r->at += len;
    return len;
}

std::string file_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

/// A reminder's parts, from which each message is built anew.
struct parts {
    std::vector<std::string> headers;
    std::string text, html, ics;

    explicit parts(const std::filesystem::path& dir)
        : text(file_text(dir / "text")), html(file_text(dir / "html")),
          ics(file_text(dir / "event.ics")) {
        std::istringstream lines(file_text(dir / "headers"));
        for (std::string line; std::getline(lines, line);)
            if (!line.empty()) headers.push_back(line);
    }
};

void add_text(curl_mime* mime, const std::string& body, const char* type) {
    curl_mimepart* part = curl_mime_addpart(mime);
    curl_mime_data(part, body.data(), body.size());
    curl_mime_type(part, type);
    curl_mime_encoder(part, "quoted-printable");
}

/// One message as casacal builds it: its headers (freed by the caller)
/// and its MIME tree set on `h`.
std::pair<curl_slist*, curl_mime*> build(CURL* h, const parts& p) {
    curl_slist* headers = nullptr;
    for (const std::string& line : p.headers)
        headers = curl_slist_append(headers, line.c_str());
    curl_mime* root = curl_mime_init(h);
    curl_mime* alternative = curl_mime_init(h);
    add_text(alternative, p.text, "text/plain; charset=utf-8");
    add_text(alternative, p.html, "text/html; charset=utf-8");
    curl_mimepart* both = curl_mime_addpart(root);
    curl_mime_subparts(both, alternative);
    curl_mime_type(both, "multipart/alternative");
    curl_mimepart* cal = curl_mime_addpart(root);
    curl_mime_data(cal, p.ics.data(), p.ics.size());
    curl_mime_type(cal, "text/calendar; charset=utf-8; method=PUBLISH");
    curl_mime_filename(cal, "invitation.ics");
    curl_mime_encoder(cal, "base64");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_MIMEPOST, root);
    return {headers, root};
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// One connection: a reused easy handle and the message it is sending.
class sender {
  public:
    sender(const std::string& url, const std::string& message, const parts* pieces)
        : h_(curl_easy_init()), to_(curl_slist_append(nullptr, "<membre00000@example.org>")),
          message_(message), pieces_(pieces) {
        curl_easy_setopt(h_, CURLOPT_URL, url.c_str());
        curl_easy_setopt(h_, CURLOPT_MAIL_FROM, "<agenda@casaco.example>");
        curl_easy_setopt(h_, CURLOPT_MAIL_RCPT, to_);
        curl_easy_setopt(h_, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h_, CURLOPT_NOSIGNAL, 1L);
        if (!pieces_) {
            curl_easy_setopt(h_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(message.size()));
            curl_easy_setopt(h_, CURLOPT_READFUNCTION, read_message);
            curl_easy_setopt(h_, CURLOPT_READDATA, &reader_);
        }
    }
    sender(const sender&) = delete;
    sender& operator=(const sender&) = delete;
    ~sender() {
        finish();
        curl_easy_cleanup(h_);
        curl_slist_free_all(to_);
    }

    CURL* handle() const { return h_; }

    /// Sets up the next message.
    void prepare() {
        finish();
        if (pieces_)
            built_ = build(h_, *pieces_);
        else
            reader_ = reader{&message_};
    }

  private:
    void finish() {
        curl_slist_free_all(built_.first);
        curl_mime_free(built_.second);
        built_ = {};
    }

    CURL* h_;
    curl_slist* to_;
    const std::string& message_;
    const parts* pieces_;
    reader reader_{&message_};
    std::pair<curl_slist*, curl_mime*> built_{};
};

struct tally {
    std::atomic<long> sent{0}, failed{0};
};

/// A thread per connection, each blocking in curl_easy_perform.
void send_on_threads(long count, long sessions, const std::string& url, const std::string& message,
                     const parts* pieces, tally& t) {
    std::atomic<long> next{0};
    std::vector<std::thread> threads;
    for (long s = 0; s < sessions; ++s)
        threads.emplace_back([&] {
            sender one(url, message, pieces);
            for (long i = next++; i < count; i = next++) {
                one.prepare();
                ++(curl_easy_perform(one.handle()) == CURLE_OK ? t.sent : t.failed);
            }
        });
    for (auto& th : threads)
        th.join();
}

/// Every connection on this thread, driven by one curl multi handle: the
/// arrangement an event loop gives libcurl.
void send_on_multi(long count, long sessions, const std::string& url, const std::string& message,
                   const parts* pieces, tally& t) {
    CURLM* multi = curl_multi_init();
    std::vector<std::unique_ptr<sender>> senders;
    long started = 0;
    for (long s = 0; s < sessions && started < count; ++s, ++started) {
        senders.push_back(std::make_unique<sender>(url, message, pieces));
        senders.back()->prepare();
        curl_easy_setopt(senders.back()->handle(), CURLOPT_PRIVATE, senders.back().get());
        curl_multi_add_handle(multi, senders.back()->handle());
    }
    int running = 1;
    while (running > 0 || started < count) {
        curl_multi_perform(multi, &running);
        int left = 0;
        while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
            if (m->msg != CURLMSG_DONE) continue;
            CURL* h = m->easy_handle;
            ++(m->data.result == CURLE_OK ? t.sent : t.failed);
            curl_multi_remove_handle(multi, h);
            if (started < count) {
                ++started;
                sender* one = nullptr;
                curl_easy_getinfo(h, CURLINFO_PRIVATE, &one);
                one->prepare();
                curl_multi_add_handle(multi, h);
                running = 1;
            }
        }
        if (running > 0) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    for (auto& one : senders)
        curl_multi_remove_handle(multi, one->handle());
    senders.clear();
    curl_multi_cleanup(multi);
}

} // namespace

int main(int argc, char** argv) {
    if (argc != 6 || (std::strcmp(argv[5], "threads") != 0 && std::strcmp(argv[5], "multi") != 0)) {
        std::fprintf(stderr, "usage: smtp_floor URL MESSAGE COUNT SESSIONS threads|multi\n");
        return 2;
    }
    const std::string url = argv[1];
    const bool composed = std::filesystem::is_directory(argv[2]);
    const std::string message = composed ? std::string() : file_text(argv[2]);
    const std::optional<parts> pieces =
        composed ? std::optional<parts>(std::in_place, argv[2]) : std::nullopt;
    const long count = std::stol(argv[3]);
    const long sessions = std::max(1L, std::stol(argv[4]));
    if ((composed ? pieces->text.empty() : message.empty()) || count < 1) {
        std::fprintf(stderr, "smtp_floor: nothing to send in %s, or COUNT < 1\n", argv[2]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    tally t;
    const auto t0 = std::chrono::steady_clock::now();
    const double cpu0 = cpu_seconds();
    (std::strcmp(argv[5], "multi") == 0 ? send_on_multi : send_on_threads)(
        count, sessions, url, message, pieces ? &*pieces : nullptr, t);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    std::printf(
        "{\"sent\": %ld, \"failed\": %ld, \"seconds\": %.4f, \"msg_s\": %.1f, \"cpu_s\": %.3f}\n",
        t.sent.load(), t.failed.load(), seconds, static_cast<double>(t.sent) / seconds, cpu);
    curl_global_cleanup();
    return t.failed ? 1 : 0;
}
