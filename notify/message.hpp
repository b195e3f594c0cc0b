#pragma once
// One reminder email as a plain value, and its translation into libcurl's
// MIME tree (curl_mime) plus the top-level header list. curl writes the
// MIME structure, boundaries and transfer encodings; we only write headers,
// and every piece of text that reaches a header goes through header_text's
// sanitising first, so no value can add or break a header line.

#include <curl/curl.h>

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace casacal::notify {

/// An address with an optional display name ("Casaco" + "agenda@casaco.example").
struct mailbox {
    std::string display; ///< UTF-8, may be empty
    std::string address; ///< ASCII addr-spec, checked by build_mime
};

/// The text/calendar part.
struct calendar_attachment {
    std::string ics;                       ///< the iCalendar bytes (CRLF lines)
    std::string method = "PUBLISH";        ///< PUBLISH, CANCEL... (upper-case letters)
    std::string filename = "invitation.ics"; ///< "event.ics" for an update or cancellation
};

/// An email to one recipient. All text is UTF-8.
struct message {
    mailbox from;
    mailbox to;
    std::string subject;
    std::int64_t date = 0;       ///< unix time of the first attempt; unchanged on retries
    int utc_offset_minutes = 0;  ///< zone the Date header is written in (0: "+0000")
    std::string message_id;      ///< "local@domain", without <>; fixed when planned
    std::string list_id_domain;  ///< List-Id becomes <reminders.{domain}>; empty: no List-Id
    std::string list_unsubscribe; ///< http(s) URL; empty: no List-Unsubscribe(-Post)
    std::string text;            ///< text/plain body
    std::string html;            ///< text/html body; empty: text/plain only
    std::optional<calendar_attachment> calendar;
};

/// Why build_mime refused a message.
enum class message_error {
    invalid_from = 1,
    invalid_to,
    invalid_message_id,
    invalid_list_id,
    invalid_unsubscribe_url,
    invalid_attachment,
    curl_failure, ///< curl_mime_* failed (out of memory)
};

const std::error_category& message_category() noexcept;
std::error_code make_error_code(message_error e) noexcept;

/// Owns a curl_mime tree and the curl_slist of top-level headers built for
/// one easy handle. Move-only; frees both in its destructor. Must outlive
/// the transfer that uses it.
class mime_body {
public:
    mime_body() = default;
    mime_body(curl_mime* mime, curl_slist* headers) noexcept : mime_(mime), headers_(headers) {}
    mime_body(mime_body&& other) noexcept;
    mime_body& operator=(mime_body&& other) noexcept;
    mime_body(const mime_body&) = delete;
    mime_body& operator=(const mime_body&) = delete;
    ~mime_body();

    curl_mime* mime() const noexcept { return mime_; }
    curl_slist* headers() const noexcept { return headers_; }

private:
    void reset() noexcept;
    curl_mime* mime_ = nullptr;
    curl_slist* headers_ = nullptr;
};

/// The header lines (without CRLF at the end; folded lines contain CRLF +
/// space) that build_mime hands to curl as CURLOPT_HTTPHEADER, in order:
/// Date, From, To, Subject, Message-ID, Auto-Submitted, List-Id,
/// List-Unsubscribe, List-Unsubscribe-Post. curl itself adds Content-Type
/// and Mime-Version. Fails with message_error when an address, the
/// Message-ID, the List-Id domain or the URL is not safe to write.
std::error_code header_lines(const message& msg, std::vector<std::string>& lines);

/// Builds the body for `easy`: multipart/mixed holding multipart/alternative
/// (text/plain and text/html, UTF-8, quoted-printable) and, when present,
/// the text/calendar attachment (base64, Content-Disposition: attachment).
/// Does not set any option on `easy`; the caller sets CURLOPT_MIMEPOST and
/// CURLOPT_HTTPHEADER from `out`.
std::error_code build_mime(CURL* easy, const message& msg, mime_body& out);

} // namespace casacal::notify

template <>
struct std::is_error_code_enum<casacal::notify::message_error> : std::true_type {};
