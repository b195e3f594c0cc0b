#pragma once
// libcurl is loaded the first time casacal calls it, not at every start.
//
// Linking libcurl maps it and the 26 shared libraries only it needs (TLS,
// LDAP, Kerberos, SSH, RTMP…) into every process before `main`: about half
// of the time a bare `casacal --version` takes, paid by `export`, `check`
// and `agenda` too, which never send mail. curl_library.cpp therefore
// defines the libcurl functions casacal uses, with libcurl's own
// signatures, and forwards them to libcurl.so.4, opened by the first call
// (thread-safe).
//
// When it cannot be opened, every function fails the way libcurl reports a
// failure (curl_global_init: CURLE_FAILED_INIT, curl_easy_init: null...),
// and curl_load_error() says why.

#include <string>

namespace casacal::notify {

/// Why libcurl could not be loaded (dlopen's or dlsym's message), or ""
/// when it is loaded. Loads it if no curl function was called yet.
const std::string& curl_load_error();

} // namespace casacal::notify
