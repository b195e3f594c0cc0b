#include "notify/smtp_transport.hpp"

#include "config/text.hpp"
#include "notify/curl_error.hpp"
#include "notify/curl_library.hpp"
#include "notify/header_text.hpp"
#include "notify/send_rate.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cassert>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>
#include <vector>

namespace casacal::notify {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

const char* to_string(outcome o) noexcept {
    switch (o) {
    case outcome::accepted:
        return "accepted";
    case outcome::transient:
        return "transient";
    case outcome::permanent:
        return "permanent";
    }
    return "?";
}

std::optional<tls_mode> parse_tls_mode(std::string_view text) {
    if (text == "required")
        return tls_mode::required;
    if (text == "opportunistic")
        return tls_mode::opportunistic;
    if (text == "off")
        return tls_mode::off;
    return std::nullopt;
}

namespace {

struct job {
    message msg;
    send_handler handler;
};

/// The SMTP command a reply answers, as far as classification cares.
enum class phase { connect, setup, recipient, data };

/// One transaction on one easy handle.
struct transfer {
    job work;
    mime_body body;
    curl_slist* recipients = nullptr;
    std::string reply; ///< last complete reply line received (k_reply_kept bytes at most)
    phase stage = phase::connect;
    bool quitting = false;  ///< QUIT sent: later replies are not about this message
    char error[CURL_ERROR_SIZE] = {};

    transfer() = default;
    transfer(const transfer&) = delete;
    transfer& operator=(const transfer&) = delete;
    ~transfer() { curl_slist_free_all(recipients); }
};

/// One socket curl asked us to watch. The descriptor is curl's: it is only
/// ever released, never closed, by us.
struct watch {
    explicit watch(asio::io_context& io) : descriptor(io) {}
    watch(const watch&) = delete;
    watch& operator=(const watch&) = delete;
    ~watch() { forget(); }

    void forget() noexcept {
        live = false;
        wanted = 0;
        if (descriptor.is_open())
            (void)descriptor.release();
    }

    asio::posix::stream_descriptor descriptor;
    curl_socket_t fd = CURL_SOCKET_BAD;
    int wanted = 0; ///< CURL_POLL_IN / CURL_POLL_OUT bits
    bool reading = false;
    bool writing = false;
    bool live = true;
};

int reply_code(std::string_view line) {
    if (line.size() < 3)
        return 0;
    for (std::size_t i = 0; i < 3; ++i)
        if (line[i] < '0' || line[i] > '9')
            return 0;
    return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

bool starts_with_nocase(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        auto c = text[i];
        if (c >= 'a' && c <= 'z')
            c = char(c - 'a' + 'A');
        if (c != prefix[i])
            return false;
    }
    return true;
}

} // namespace

std::vector<std::string> secret_forms(const std::string& username, const std::string& password) {
    std::vector<std::string> forms;
    if (password.empty()) return forms;
    const std::string nul(1, '\0');
    forms.push_back(base64(username + nul + username + nul + password)); // PLAIN with authzid
    forms.push_back(base64(nul + username + nul + password));            // PLAIN
    forms.push_back(base64(password));                                   // LOGIN
    // In a token made otherwise (another authorization identity, the
    // server's own wording re-encoded): the characters that encode the
    // password's bits alone, at each of base64's alignments.
    for (std::size_t k = 0; k < 3; ++k) {
        const std::string encoded = base64(std::string(k, '\0') + password);
        const std::size_t from = (8 * k + 5) / 6;
        const std::size_t to = 8 * (k + password.size()) / 6;
        if (to >= from + 4) forms.push_back(encoded.substr(from, to - from));
    }
    forms.push_back(password);
    return forms;
}

std::string scrub(std::string text, const std::vector<std::string>& forms) {
    for (const std::string& form : forms)
        for (auto at = text.find(form); at != std::string::npos; at = text.find(form, at))
            text.replace(at, form.size(), "***");
    return text;
}

std::string printable(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        char32_t c = 0;
        const std::size_t n = config::decode_utf8(text, i, c);
        // Controls: C0, DEL and C1 (0x9b is an 8-bit CSI to a terminal),
        // U+2028 and U+2029 (line breaks to some readers) and the
        // bidirectional embeddings, overrides and isolates (which reorder
        // what follows).
        const bool control = c < 0x20 || (c >= 0x7f && c <= 0x9f) || (c >= 0x2028 && c <= 0x202e) ||
                             (c >= 0x2066 && c <= 0x2069);
        if (n == 0) {
            out += '?'; // not UTF-8: a byte at a time
            ++i;
        } else {
            if (control)
                out += '?';
            else
                out.append(text.substr(i, n));
            i += n;
        }
    }
    return out;
}

namespace {

/// How much of a reply line is kept, and how much is shown: the password
/// is looked for in the whole line before it is cut.
constexpr std::size_t k_reply_kept = 4096;
constexpr std::size_t k_reply_shown = 512;

/// The last reply as results show it. A server may quote what it was sent,
/// password included.
std::string shown_reply(const transfer& t, const std::vector<std::string>& secrets) {
    std::string reply = scrub(t.reply, secrets);
    if (reply.size() > k_reply_shown) reply.resize(k_reply_shown);
    return printable(reply);
}

send_result classify(CURLcode code, const transfer& t, const std::vector<std::string>& secrets) {
    send_result result;
    result.reply = shown_reply(t, secrets);
    result.smtp_code = reply_code(t.reply);
    if (code == CURLE_OK) {
        result.outcome = outcome::accepted;
        return result;
    }
    result.code = make_error_code(code);
    result.error = printable(
        scrub(t.error[0] != '\0' ? std::string(t.error) : curl_easy_strerror(code), secrets));
    if (code == CURLE_USE_SSL_FAILED)
        result.error = "the server does not offer STARTTLS, and [smtp] starttls = \"required\" (" +
                       result.error + ")";
    // libcurl 7.88 words a connection closed before the reply as "response
    // reading failed (errno: 115)", a stale errno (EINPROGRESS).
    if (code == CURLE_RECV_ERROR && result.error.starts_with("response reading failed"))
        result.error = "the connection was closed before the server replied";
    const bool about_message = t.stage == phase::recipient || t.stage == phase::data;
    if (result.smtp_code >= 500 && result.smtp_code < 600 && about_message &&
        code != CURLE_LOGIN_DENIED)
        result.outcome = outcome::permanent;
    else
        result.outcome = outcome::transient;
    return result;
}

send_result not_attempted(std::string why) {
    send_result r;
    r.outcome = outcome::transient;
    r.error = std::move(why);
    r.code = std::make_error_code(std::errc::operation_canceled);
    return r;
}

/// The transport's connection sockets, shared with the threads that may cut
/// them. Closing and cutting hold the lock, so a cut never reaches a number
/// the kernel has already given to another file.
class socket_set {
  public:
    void add(int fd) {
        std::lock_guard guard(lock_);
        fds_.insert(fd);
        if (cut_) ::shutdown(fd, SHUT_RDWR);
    }
    bool contains(int fd) {
        std::lock_guard guard(lock_);
        return fds_.count(fd) > 0;
    }
    int close(int fd) {
        std::lock_guard guard(lock_);
        fds_.erase(fd);
        return ::close(fd);
    }
    /// `fd`, if it is one of these, shut down for both directions: libcurl
    /// finds the connection dead when it next looks at it, and closes it.
    void shut(int fd) {
        std::lock_guard guard(lock_);
        if (fds_.count(fd)) ::shutdown(fd, SHUT_RDWR);
    }
    bool was_cut() {
        std::lock_guard guard(lock_);
        return cut_;
    }
    /// Every socket, and those opened later, shut down for both directions.
    void cut() noexcept {
        std::lock_guard guard(lock_);
        cut_ = true;
        for (const int fd : fds_)
            ::shutdown(fd, SHUT_RDWR);
    }

  private:
    std::mutex lock_;
    std::set<int> fds_;
    bool cut_ = false;
};

} // namespace

/// Why a transfer stopped by shutdown did not end: the message may have
/// reached the server only once its upload had begun.
std::string aborted(CURL* easy) {
    curl_off_t sent = 0;
    if (curl_easy_getinfo(easy, CURLINFO_SIZE_UPLOAD_T, &sent) == CURLE_OK && sent == 0)
        return "aborted at shutdown, before the message was sent";
    return "aborted at shutdown; the server may or may not have it";
}

send_result not_started() {
    send_result r = not_attempted("not attempted: the transport is stopping");
    r.never_started = true;
    return r;
}

struct smtp_transport::core : std::enable_shared_from_this<core> {
    core(asio::io_context& io_context, smtp_settings s)
        : io(io_context), settings(std::move(s)), curl_timer(io), rate_timer(io), drain_timer(io),
          reply_timer(io), rate(settings.max_per_minute, settings.rate_period) {}
    core(const core&) = delete;
    core& operator=(const core&) = delete;

    ~core() { shutdown(); }

    void open();
    void shutdown() noexcept;
    void enqueue(message msg, send_handler handler);
    void pump();
    void start(job work);
    void configure(CURL* easy, transfer& t);
    void act(curl_socket_t fd, int events);
    void collect();
    void deliver(send_handler handler, send_result result);
    void arm(const std::shared_ptr<watch>& w);
    void on_ready(const std::shared_ptr<watch>& w, int poll_bit, boost::system::error_code ec);
    void set_curl_timer(clock::time_point when);
    void on_curl_due();
    void begin_drain(clock::time_point deadline, std::function<void()> done);
    void watch_replies();
    void finish_drain();

    static int on_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketp) noexcept;
    static int on_timer(CURLM* multi, long timeout_ms, void* self) noexcept;
    static int on_debug(CURL* easy, curl_infotype type, char* data, size_t size, void* t) noexcept;
    static curl_socket_t on_open(void* self, curlsocktype purpose, curl_sockaddr* address) noexcept;
    static int on_close(void* self, curl_socket_t fd) noexcept;

    asio::io_context& io;
    smtp_settings settings;
    std::vector<std::string> secrets = secret_forms(settings.username, settings.password);
    bool global_initialised = false;
    CURLM* multi = nullptr;
    // The single timer curl asks for. Setting a kernel timer is a system
    // call, and curl moves its deadline several times per message: the
    // timer is only set earlier, never later; when it fires before curl's
    // deadline it is set again, and a deadline of now is a posted handler.
    asio::steady_timer curl_timer;
    std::optional<clock::time_point> curl_due; ///< curl's deadline; none when it wants no call
    bool curl_timer_set = false;               ///< curl_timer has a wait pending
    bool curl_due_posted = false;              ///< on_curl_due is posted
    asio::steady_timer rate_timer;  // wakes the queue when a rate token returns
    asio::steady_timer drain_timer; // the drain deadline
    asio::steady_timer reply_timer; // runs the transfers under way once a second (watch_replies)
    bool reply_timer_set = false;
    std::deque<job> waiting;
    std::map<CURL*, std::unique_ptr<transfer>> active;
    std::vector<CURL*> idle;
    send_rate rate; ///< settings.max_per_minute
    std::map<curl_socket_t, std::shared_ptr<watch>> watches;
    /// Connection sockets, opened and closed through on_open and on_close.
    /// Their watch outlives curl's CURL_POLL_REMOVE, which comes after each
    /// message on a connection kept for the next: the socket stays known to
    /// epoll instead of leaving and joining it again every message.
    std::shared_ptr<socket_set> connections = std::make_shared<socket_set>();
    std::vector<std::pair<send_handler, send_result>> done_list;
    bool stopped = false;
    bool draining = false;
    bool held = false; ///< hold(): nothing new starts
    std::function<void()> drained;
};

void smtp_transport::core::open() {
    if (!settings.url.starts_with("smtp://") && !settings.url.starts_with("smtps://"))
        throw std::invalid_argument("smtp url must start with smtp:// or smtps://");
    if (settings.max_in_flight == 0)
        settings.max_in_flight = 1;
    if (const auto& why = curl_load_error(); !why.empty())
        throw std::runtime_error(why);
    if (const auto rc = curl_global_init(CURL_GLOBAL_DEFAULT); rc != CURLE_OK)
        throw std::system_error(make_error_code(rc), "curl_global_init");
    global_initialised = true;
    multi = curl_multi_init();
    if (!multi)
        throw std::system_error(make_error_code(CURLM_OUT_OF_MEMORY), "curl_multi_init");
    const auto limit = static_cast<long>(settings.max_in_flight);
    for (const auto rc : {curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &core::on_socket),
                          curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this),
                          curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &core::on_timer),
                          curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this),
                          curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, limit),
                          curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, limit),
                          curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, limit)})
        if (rc != CURLM_OK)
            throw std::system_error(make_error_code(rc), "curl_multi_setopt");
}

void smtp_transport::core::shutdown() noexcept {
    stopped = true;
    waiting.clear();
    done_list.clear();
    drained = nullptr;
    curl_timer.cancel();
    curl_due.reset();
    rate_timer.cancel();
    drain_timer.cancel();
    reply_timer.cancel();
    if (multi) {
        // As at the drain deadline: no transfer taken away half-way ends
        // its data with a ".".
        if (!active.empty()) connections->cut();
        for (auto& [easy, t] : active) {
            curl_multi_remove_handle(multi, easy);
            curl_easy_cleanup(easy);
        }
        active.clear();
        // May still call on_socket (REMOVE) for cached connections; `this`
        // is intact until it returns.
        curl_multi_cleanup(multi);
        multi = nullptr;
    }
    for (auto* easy : idle)
        curl_easy_cleanup(easy);
    idle.clear();
    for (auto& [fd, w] : watches)
        w->forget();
    watches.clear();
    if (global_initialised) {
        curl_global_cleanup();
        global_initialised = false;
    }
}

void smtp_transport::core::enqueue(message msg, send_handler handler) {
    if (stopped)
        return;
    if (draining) {
        deliver(std::move(handler), not_started());
        return;
    }
    waiting.push_back(job{std::move(msg), std::move(handler)});
    pump();
}

void smtp_transport::core::pump() {
    while (!stopped && !draining && !held && !waiting.empty() &&
           active.size() < settings.max_in_flight) {
        const auto now = clock::now();
        if (!rate.take(now)) {
            rate_timer.expires_at(rate.next_free(now));
            rate_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
                if (ec == asio::error::operation_aborted)
                    return;
                if (auto self = weak.lock(); self && !self->stopped)
                    self->pump();
            });
            return;
        }
        auto work = std::move(waiting.front());
        waiting.pop_front();
        start(std::move(work));
    }
}

void smtp_transport::core::start(job work) {
    CURL* easy = nullptr;
    if (!idle.empty()) {
        easy = idle.back();
        idle.pop_back();
    } else {
        easy = curl_easy_init();
    }
    if (!easy) {
        deliver(std::move(work.handler), not_attempted("libcurl could not create a handle"));
        return;
    }
    auto t = std::make_unique<transfer>();
    t->work = std::move(work);
    if (auto ec = build_mime(easy, t->work.msg, t->body)) {
        send_result r;
        r.outcome = ec == message_error::curl_failure ? outcome::transient : outcome::permanent;
        r.error = ec.message();
        r.code = ec;
        idle.push_back(easy);
        deliver(std::move(t->work.handler), std::move(r));
        return;
    }
    const auto rcpt = "<" + t->work.msg.to.address + ">";
    t->recipients = curl_slist_append(nullptr, rcpt.c_str());
    configure(easy, *t);
    if (const auto rc = curl_multi_add_handle(multi, easy); !t->recipients || rc != CURLM_OK) {
        send_result r = not_attempted("libcurl refused the transfer");
        if (rc != CURLM_OK)
            r.code = make_error_code(rc);
        curl_easy_reset(easy);
        idle.push_back(easy);
        deliver(std::move(t->work.handler), std::move(r));
        return;
    }
    active.emplace(easy, std::move(t));
    watch_replies();
}

/// libcurl 7.88 looks at CURLOPT_SERVER_RESPONSE_TIMEOUT only when it runs
/// a transfer, and sets no timer for it: a server that stops replying held
/// the transfer until CURLOPT_TIMEOUT, twice as long. While transfers are
/// under way, their sockets are run once a second so that it holds.
void smtp_transport::core::watch_replies() {
    if (reply_timer_set || stopped) return;
    reply_timer_set = true;
    reply_timer.expires_after(std::chrono::seconds(1));
    reply_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted) return;
        auto self = weak.lock();
        if (!self) return;
        self->reply_timer_set = false;
        if (self->stopped || self->active.empty()) return;
        std::vector<curl_socket_t> wanted;
        for (const auto& [fd, w] : self->watches)
            if (w->wanted != 0) wanted.push_back(fd);
        for (const curl_socket_t fd : wanted)
            self->act(fd, 0);
        if (!self->active.empty()) self->watch_replies();
    });
}

void smtp_transport::core::configure(CURL* easy, transfer& t) {
    const auto& s = settings;
    const auto envelope_from =
        "<" + (s.envelope_from.empty() ? t.work.msg.from.address : s.envelope_from) + ">";
    // Options that only copy or store a value cannot fail for a valid
    // handle; a failure would surface as the transfer's CURLcode.
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(easy, CURLOPT_URL, s.url.c_str());
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    switch (s.starttls) {
    case tls_mode::required:
        curl_easy_setopt(easy, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
        break;
    case tls_mode::opportunistic:
        curl_easy_setopt(easy, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
        break;
    case tls_mode::off:
        curl_easy_setopt(easy, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
        break;
    }
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    if (!s.ca_file.empty())
        curl_easy_setopt(easy, CURLOPT_CAINFO, s.ca_file.c_str());
    // AUTH with both (check warns of one without the other).
    if (!s.username.empty() && !s.password.empty()) {
        curl_easy_setopt(easy, CURLOPT_USERNAME, s.username.c_str());
        curl_easy_setopt(easy, CURLOPT_PASSWORD, s.password.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_MAIL_FROM, envelope_from.c_str());
    curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, t.recipients);
    curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy, CURLOPT_MIMEPOST, t.body.mime());
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t.body.headers());
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(s.connect_timeout.count()));
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(s.transfer_timeout.count()));
    const auto response_seconds =
        std::chrono::ceil<std::chrono::seconds>(s.response_timeout).count();
    curl_easy_setopt(easy, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                     static_cast<long>(response_seconds > 0 ? response_seconds : 1));
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t.error);
    // Verbose output goes only to on_debug, which keeps server replies and
    // discards everything else (including AUTH lines).
    curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, &core::on_debug);
    curl_easy_setopt(easy, CURLOPT_DEBUGDATA, &t);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, &core::on_open);
    curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION, &core::on_close);
    curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
    if (!s.unix_socket.empty())
        curl_easy_setopt(easy, CURLOPT_UNIX_SOCKET_PATH, s.unix_socket.c_str());
}

void smtp_transport::core::act(curl_socket_t fd, int events) {
    if (stopped)
        return;
    int running = 0;
    // The only failure here is CURLM_BAD_SOCKET for a socket curl already
    // dropped; transfers report their own errors through info_read.
    (void)curl_multi_socket_action(multi, fd, events, &running);
    collect();
}

void smtp_transport::core::collect() {
    auto self = shared_from_this();
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL* easy = m->easy_handle;
        const CURLcode code = m->data.result;
        auto found = active.find(easy);
        if (found == active.end())
            continue;
        auto t = std::move(found->second);
        active.erase(found);
        // The connection it leaves in the cache: found through the multi
        // handle, so asked before the handle leaves it.
        curl_socket_t last_socket = CURL_SOCKET_BAD;
        if (code != CURLE_OK &&
            curl_easy_getinfo(easy, CURLINFO_ACTIVESOCKET, &last_socket) != CURLE_OK)
            last_socket = CURL_SOCKET_BAD;
        curl_multi_remove_handle(multi, easy);
        auto result = classify(code, *t, secrets);
        // Cut by a stopping daemon (see cutter()): whatever libcurl says of it.
        if (result.outcome == outcome::transient && connections->was_cut())
            result.error = aborted(easy);
        // libcurl keeps a connection whose transfer ended without a reply
        // it could read (a timeout, a line with no reply code) for the next
        // message, which would then wait behind what the server still owes,
        // or read the late reply as its own. Only a connection whose last
        // reply was a proper refusal is used again.
        if (last_socket != CURL_SOCKET_BAD &&
            (code == CURLE_OPERATION_TIMEDOUT || result.smtp_code < 400 ||
             result.smtp_code >= 600))
            connections->shut(last_socket);
        curl_easy_reset(easy);
        idle.push_back(easy);
        done_list.emplace_back(std::move(t->work.handler), std::move(result));
    }
    pump();
    // Handlers run last, outside any curl call; one of them may stop or
    // destroy the transport, which `self` survives and `stopped` reports.
    auto finished = std::move(done_list);
    done_list.clear();
    for (auto& [handler, result] : finished) {
        if (stopped)
            return;
        if (handler)
            handler(result);
    }
    if (draining && active.empty())
        finish_drain();
}

void smtp_transport::core::deliver(send_handler handler, send_result result) {
    asio::post(io, [weak = weak_from_this(), handler = std::move(handler),
                    result = std::move(result)]() {
        if (auto self = weak.lock(); self && !self->stopped && handler)
            handler(result);
    });
}

void smtp_transport::core::arm(const std::shared_ptr<watch>& w) {
    if (!w->live)
        return;
    if ((w->wanted & CURL_POLL_IN) && !w->reading) {
        w->reading = true;
        w->descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                                 [weak = weak_from_this(), w](boost::system::error_code ec) {
                                     w->reading = false;
                                     if (auto self = weak.lock())
                                         self->on_ready(w, CURL_POLL_IN, ec);
                                 });
    }
    if ((w->wanted & CURL_POLL_OUT) && !w->writing) {
        w->writing = true;
        w->descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                                 [weak = weak_from_this(), w](boost::system::error_code ec) {
                                     w->writing = false;
                                     if (auto self = weak.lock())
                                         self->on_ready(w, CURL_POLL_OUT, ec);
                                 });
    }
}

void smtp_transport::core::on_ready(const std::shared_ptr<watch>& w, int poll_bit,
                                    boost::system::error_code ec) {
    // A wait may complete after curl dropped the socket, or after curl
    // stopped wanting this direction: then it is stale and ignored.
    if (ec == asio::error::operation_aborted || stopped || !w->live || !(w->wanted & poll_bit))
        return;
    int events = poll_bit == CURL_POLL_IN ? CURL_CSELECT_IN : CURL_CSELECT_OUT;
    if (ec)
        events = CURL_CSELECT_ERR;
    act(w->fd, events);
    arm(w);
}

int smtp_transport::core::on_socket(CURL*, curl_socket_t fd, int what, void* self_ptr,
                                    void*) noexcept {
    auto* self = static_cast<core*>(self_ptr);
    try {
        auto found = self->watches.find(fd);
        if (what == CURL_POLL_REMOVE) {
            if (found == self->watches.end()) return 0;
            // A wait still pending completes as stale (nothing wanted).
            if (self->connections->contains(fd)) {
                found->second->wanted = 0;
                return 0;
            }
            found->second->forget();
            self->watches.erase(found);
            return 0;
        }
        if (found == self->watches.end()) {
            auto w = std::make_shared<watch>(self->io);
            boost::system::error_code ec;
            w->descriptor.assign(fd, ec);
            if (ec)
                return -1;
            w->fd = fd;
            found = self->watches.emplace(fd, std::move(w)).first;
        }
        found->second->wanted = what;
        self->arm(found->second);
        return 0;
    } catch (...) {
        return -1;
    }
}

int smtp_transport::core::on_timer(CURLM*, long timeout_ms, void* self_ptr) noexcept {
    auto* self = static_cast<core*>(self_ptr);
    try {
        if (timeout_ms < 0) {
            // A timer still set fires once more and finds no deadline.
            self->curl_due.reset();
            return 0;
        }
        const auto when = clock::now() + std::chrono::milliseconds(timeout_ms);
        self->curl_due = when;
        if (timeout_ms == 0) {
            // Through the io_context all the same: curl must not be
            // re-entered from inside its own callback.
            if (!self->curl_due_posted) {
                self->curl_due_posted = true;
                asio::post(self->io, [weak = self->weak_from_this()] {
                    if (auto s = weak.lock()) {
                        s->curl_due_posted = false;
                        s->on_curl_due();
                    }
                });
            }
            return 0;
        }
        if (!self->curl_timer_set || self->curl_timer.expiry() > when) self->set_curl_timer(when);
        return 0;
    } catch (...) {
        return -1;
    }
}

void smtp_transport::core::set_curl_timer(clock::time_point when) {
    curl_timer_set = true;
    curl_timer.expires_at(when);
    curl_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted)
            return;
        if (auto s = weak.lock()) {
            s->curl_timer_set = false;
            s->on_curl_due();
        }
    });
}

void smtp_transport::core::on_curl_due() {
    if (stopped || !curl_due)
        return;
    if (*curl_due > clock::now()) {
        if (!curl_timer_set || curl_timer.expiry() > *curl_due)
            set_curl_timer(*curl_due);
        return;
    }
    curl_due.reset();
    act(CURL_SOCKET_TIMEOUT, 0);
}

curl_socket_t smtp_transport::core::on_open(void* self_ptr, curlsocktype,
                                           curl_sockaddr* address) noexcept {
    auto* self = static_cast<core*>(self_ptr);
    const int fd = ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    try {
        self->connections->add(fd);
    } catch (...) {
        ::close(fd);
        return CURL_SOCKET_BAD;
    }
    return fd;
}

int smtp_transport::core::on_close(void* self_ptr, curl_socket_t fd) noexcept {
    auto* self = static_cast<core*>(self_ptr);
    // Out of epoll before the number can be given to another socket.
    if (auto found = self->watches.find(fd); found != self->watches.end()) {
        found->second->forget();
        self->watches.erase(found);
    }
    return self->connections->close(fd);
}

int smtp_transport::core::on_debug(CURL*, curl_infotype type, char* data, size_t size,
                                   void* t_ptr) noexcept {
    auto* t = static_cast<transfer*>(t_ptr);
    try {
        const std::string_view text(data, size);
        if (type == CURLINFO_HEADER_OUT) {
            if (starts_with_nocase(text, "QUIT"))
                t->quitting = true;
            else if (starts_with_nocase(text, "RCPT"))
                t->stage = phase::recipient;
            else if (starts_with_nocase(text, "DATA"))
                t->stage = phase::data;
            else if (t->stage == phase::connect || starts_with_nocase(text, "MAIL") ||
                     starts_with_nocase(text, "EHLO"))
                t->stage = phase::setup;
        } else if (type == CURLINFO_HEADER_IN && !t->quitting) {
            std::size_t start = 0;
            while (start < text.size()) {
                auto end = text.find('\n', start);
                if (end == std::string_view::npos)
                    end = text.size();
                auto line = text.substr(start, end - start);
                while (!line.empty() && (line.back() == '\r' || line.back() == '\n'))
                    line.remove_suffix(1);
                if (!line.empty()) t->reply.assign(line.substr(0, k_reply_kept));
                start = end + 1;
            }
        }
    } catch (...) {
    }
    return 0;
}

void smtp_transport::core::begin_drain(clock::time_point deadline, std::function<void()> done) {
    if (stopped)
        return;
    draining = true;
    rate_timer.cancel();
    auto pending = std::move(waiting);
    waiting.clear();
    for (auto& work : pending)
        deliver(std::move(work.handler), not_started());
    drained = std::move(done);
    if (active.empty()) {
        asio::post(io, [weak = weak_from_this()] {
            if (auto self = weak.lock(); self && !self->stopped)
                self->finish_drain();
        });
        return;
    }
    drain_timer.expires_at(deadline);
    drain_timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
        if (ec == asio::error::operation_aborted)
            return;
        auto self = weak.lock();
        if (!self || self->stopped)
            return;
        // The connections are cut first: libcurl 7.88 ends a transfer taken
        // from it half-way as if its data were all sent, with the "." that
        // ends the data, and a server would accept the message cut short.
        self->connections->cut();
        auto stopped = std::move(self->active);
        self->active.clear();
        for (auto& [easy, t] : stopped) {
            curl_multi_remove_handle(self->multi, easy);
            auto r = not_attempted(aborted(easy));
            curl_easy_reset(easy);
            self->idle.push_back(easy);
            r.reply = shown_reply(*t, self->secrets);
            r.smtp_code = reply_code(t->reply);
            self->done_list.emplace_back(std::move(t->work.handler), std::move(r));
        }
        self->collect();
    });
}

void smtp_transport::core::finish_drain() {
    drain_timer.cancel();
    if (auto done = std::exchange(drained, nullptr))
        done();
}

smtp_transport::smtp_transport(asio::io_context& io, smtp_settings settings)
    : core_(std::make_shared<core>(io, std::move(settings))) {
    core_->open();
}

smtp_transport::~smtp_transport() { stop(); }

std::function<void()> smtp_transport::cutter() const {
    return [connections = core_->connections] { connections->cut(); };
}

void smtp_transport::send(message msg, send_handler handler) {
    core_->enqueue(std::move(msg), std::move(handler));
}

void smtp_transport::drain(clock::time_point deadline, std::function<void()> done) {
    core_->begin_drain(deadline, std::move(done));
}

void smtp_transport::hold(bool held) noexcept {
    core_->held = held;
    if (held) return;
    try {
        core_->pump();
    } catch (...) { // out of memory: the next result or message pumps again
    }
}

void smtp_transport::stop() noexcept { core_->shutdown(); }

std::size_t smtp_transport::queued() const noexcept { return core_->waiting.size(); }

std::size_t smtp_transport::in_flight() const noexcept { return core_->active.size(); }

} // namespace casacal::notify
