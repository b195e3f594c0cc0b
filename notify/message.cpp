#include "notify/message.hpp"

#include "notify/header_text.hpp"

#include <memory>
#include <string_view>
#include <utility>

namespace casacal::notify {
namespace {

class message_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "casacal.message"; }
    std::string message(int value) const override {
        switch (static_cast<message_error>(value)) {
        case message_error::invalid_from:
            return "invalid From address";
        case message_error::invalid_to:
            return "invalid recipient address";
        case message_error::invalid_message_id:
            return "invalid Message-ID";
        case message_error::invalid_list_id:
            return "invalid List-Id domain";
        case message_error::invalid_unsubscribe_url:
            return "invalid List-Unsubscribe URL";
        case message_error::invalid_attachment:
            return "invalid calendar attachment method";
        case message_error::curl_failure:
            return "libcurl could not build the MIME body";
        }
        return "unknown message error";
    }
};

bool is_printable_token(std::string_view text, std::string_view forbidden) {
    if (text.empty())
        return false;
    for (const char c : text)
        if (std::uint8_t(c) <= 0x20 || std::uint8_t(c) >= 0x7F ||
            forbidden.find(c) != std::string_view::npos)
            return false;
    return true;
}

bool is_domain(std::string_view text) {
    if (text.empty() || text.size() > 253 || text.front() == '.' || text.back() == '.')
        return false;
    for (const char c : text)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return false;
    return true;
}

bool is_web_url(std::string_view url) {
    return (url.starts_with("https://") || url.starts_with("http://")) &&
           is_printable_token(url, "<>\"\\");
}

bool is_method(std::string_view method) {
    if (method.empty())
        return false;
    for (const char c : method)
        if (c < 'A' || c > 'Z')
            return false;
    return true;
}

/// Keeps letters, digits, '.', '-' and '_' of a file name.
std::string safe_filename(std::string_view name) {
    std::string out;
    for (const char c : name)
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '.' || c == '-' || c == '_')
            out += c;
    return out.empty() || out.front() == '.' ? "event.ics" : out;
}

/// Bodies get CRLF line ends whatever the caller used, so that the
/// quoted-printable encoder sees real line breaks and never a bare CR or LF.
/// Lines are found with a plain loop: find_first_of calls memchr on the
/// two-character set for every character of the text.
std::string crlf_lines(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    const std::size_t n = text.size();
    for (std::size_t i = 0; i < n;) {
        std::size_t end = i;
        while (end < n && text[end] != '\r' && text[end] != '\n')
            ++end;
        out.append(text, i, end - i);
        if (end == n) break;
        out += "\r\n";
        i = end + (text[end] == '\r' && end + 1 < n && text[end + 1] == '\n' ? 2 : 1);
    }
    return out;
}

struct mime_deleter {
    void operator()(curl_mime* m) const noexcept { curl_mime_free(m); }
};
struct slist_deleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

bool add_text_part(curl_mime* mime, const std::string& body, const char* type) {
    curl_mimepart* part = curl_mime_addpart(mime);
    const auto bytes = crlf_lines(body);
    return part && curl_mime_data(part, bytes.data(), bytes.size()) == CURLE_OK &&
           curl_mime_type(part, type) == CURLE_OK &&
           curl_mime_encoder(part, "quoted-printable") == CURLE_OK;
}

} // namespace

const std::error_category& message_category() noexcept {
    static const message_category_impl instance;
    return instance;
}

std::error_code make_error_code(message_error e) noexcept {
    return {static_cast<int>(e), message_category()};
}

mime_body::mime_body(mime_body&& other) noexcept
    : mime_(std::exchange(other.mime_, nullptr)), headers_(std::exchange(other.headers_, nullptr)) {}

mime_body& mime_body::operator=(mime_body&& other) noexcept {
    if (this != &other) {
        reset();
        mime_ = std::exchange(other.mime_, nullptr);
        headers_ = std::exchange(other.headers_, nullptr);
    }
    return *this;
}

mime_body::~mime_body() { reset(); }

void mime_body::reset() noexcept {
    curl_mime_free(mime_);
    curl_slist_free_all(headers_);
    mime_ = nullptr;
    headers_ = nullptr;
}

std::error_code header_lines(const message& msg, std::vector<std::string>& lines) {
    if (!is_safe_address(msg.from.address))
        return make_error_code(message_error::invalid_from);
    if (!is_safe_address(msg.to.address))
        return make_error_code(message_error::invalid_to);
    if (!is_printable_token(msg.message_id, "<>()[],;:\\\"") ||
        msg.message_id.find('@') == std::string::npos)
        return make_error_code(message_error::invalid_message_id);
    if (!msg.list_id_domain.empty() && !is_domain(msg.list_id_domain))
        return make_error_code(message_error::invalid_list_id);
    if (!msg.list_unsubscribe.empty() && !is_web_url(msg.list_unsubscribe))
        return make_error_code(message_error::invalid_unsubscribe_url);
    if (msg.calendar && !is_method(msg.calendar->method))
        return make_error_code(message_error::invalid_attachment);

    lines.clear();
    lines.push_back("Date: " + rfc5322_date(msg.date, msg.utc_offset_minutes));
    lines.push_back("From: " + mailbox_value("From", msg.from.display, msg.from.address));
    lines.push_back("To: " + mailbox_value("To", msg.to.display, msg.to.address));
    lines.push_back("Subject: " + unstructured_value("Subject", msg.subject));
    lines.push_back("Message-ID: <" + msg.message_id + ">");
    lines.push_back("Auto-Submitted: auto-generated");
    if (!msg.list_id_domain.empty())
        lines.push_back("List-Id: <reminders." + msg.list_id_domain + ">");
    if (!msg.list_unsubscribe.empty()) {
        lines.push_back("List-Unsubscribe: <" + msg.list_unsubscribe + ">");
        lines.push_back("List-Unsubscribe-Post: List-Unsubscribe=One-Click");
    }
    return {};
}

std::error_code build_mime(CURL* easy, const message& msg, mime_body& out) {
    std::vector<std::string> lines;
    if (auto ec = header_lines(msg, lines))
        return ec;
    const auto failure = make_error_code(message_error::curl_failure);

    std::unique_ptr<curl_slist, slist_deleter> headers;
    for (const auto& line : lines) {
        curl_slist* grown = curl_slist_append(headers.get(), line.c_str());
        if (!grown)
            return failure;
        (void)headers.release();
        headers.reset(grown);
    }

    std::unique_ptr<curl_mime, mime_deleter> root(curl_mime_init(easy));
    if (!root)
        return failure;
    if (msg.html.empty()) {
        if (!add_text_part(root.get(), msg.text, "text/plain; charset=utf-8"))
            return failure;
    } else {
        std::unique_ptr<curl_mime, mime_deleter> alternative(curl_mime_init(easy));
        if (!alternative ||
            !add_text_part(alternative.get(), msg.text, "text/plain; charset=utf-8") ||
            !add_text_part(alternative.get(), msg.html, "text/html; charset=utf-8"))
            return failure;
        curl_mimepart* part = curl_mime_addpart(root.get());
        if (!part || curl_mime_subparts(part, alternative.get()) != CURLE_OK)
            return failure;
        (void)alternative.release(); // now owned by `root`
        if (curl_mime_type(part, "multipart/alternative") != CURLE_OK)
            return failure;
    }
    if (msg.calendar) {
        const auto& cal = *msg.calendar;
        const auto type = "text/calendar; charset=utf-8; method=" + cal.method;
        const auto name = safe_filename(cal.filename);
        curl_mimepart* part = curl_mime_addpart(root.get());
        if (!part || curl_mime_data(part, cal.ics.data(), cal.ics.size()) != CURLE_OK ||
            curl_mime_type(part, type.c_str()) != CURLE_OK ||
            curl_mime_filename(part, name.c_str()) != CURLE_OK ||
            curl_mime_encoder(part, "base64") != CURLE_OK)
            return failure;
    }
    out = mime_body(root.release(), headers.release());
    return {};
}

} // namespace casacal::notify
