#include "notify/curl_library.hpp"

// The definitions below are libcurl's own functions: no type-checking macros.
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>

#include <dlfcn.h>

#include <cstdarg>

namespace {

constexpr const char* k_not_loaded = "libcurl could not be loaded";

/// libcurl's functions as found in libcurl.so.4; all of them or none.
struct library {
    library();

    template <class F> void find(F& f, const char* name) {
        if (!error.empty()) return;
        f = reinterpret_cast<F>(::dlsym(handle, name));
        if (!f) error = std::string(k_not_loaded) + ": libcurl.so.4 has no " + name;
    }

    void* handle = nullptr;
    std::string error;
    decltype(&::curl_global_init) global_init = nullptr;
    decltype(&::curl_global_cleanup) global_cleanup = nullptr;
    decltype(&::curl_easy_init) easy_init = nullptr;
    decltype(&::curl_easy_setopt) easy_setopt = nullptr;
    decltype(&::curl_easy_reset) easy_reset = nullptr;
    decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
    decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
    decltype(&::curl_easy_strerror) easy_strerror = nullptr;
    decltype(&::curl_multi_init) multi_init = nullptr;
    decltype(&::curl_multi_setopt) multi_setopt = nullptr;
    decltype(&::curl_multi_add_handle) multi_add_handle = nullptr;
    decltype(&::curl_multi_remove_handle) multi_remove_handle = nullptr;
    decltype(&::curl_multi_socket_action) multi_socket_action = nullptr;
    decltype(&::curl_multi_info_read) multi_info_read = nullptr;
    decltype(&::curl_multi_cleanup) multi_cleanup = nullptr;
    decltype(&::curl_multi_strerror) multi_strerror = nullptr;
    decltype(&::curl_slist_append) slist_append = nullptr;
    decltype(&::curl_slist_free_all) slist_free_all = nullptr;
    decltype(&::curl_mime_init) mime_init = nullptr;
    decltype(&::curl_mime_free) mime_free = nullptr;
    decltype(&::curl_mime_addpart) mime_addpart = nullptr;
    decltype(&::curl_mime_data) mime_data = nullptr;
    decltype(&::curl_mime_type) mime_type = nullptr;
    decltype(&::curl_mime_encoder) mime_encoder = nullptr;
    decltype(&::curl_mime_filename) mime_filename = nullptr;
    decltype(&::curl_mime_subparts) mime_subparts = nullptr;
};

library::library() {
    // Never closed: libcurl stays for the rest of the process.
    handle = ::dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char* why = ::dlerror();
        error = std::string(k_not_loaded) + ": " + (why ? why : "libcurl.so.4");
        return;
    }
    find(global_init, "curl_global_init");
    find(global_cleanup, "curl_global_cleanup");
    find(easy_init, "curl_easy_init");
    find(easy_setopt, "curl_easy_setopt");
    find(easy_reset, "curl_easy_reset");
    find(easy_getinfo, "curl_easy_getinfo");
    find(easy_cleanup, "curl_easy_cleanup");
    find(easy_strerror, "curl_easy_strerror");
    find(multi_init, "curl_multi_init");
    find(multi_setopt, "curl_multi_setopt");
    find(multi_add_handle, "curl_multi_add_handle");
    find(multi_remove_handle, "curl_multi_remove_handle");
    find(multi_socket_action, "curl_multi_socket_action");
    find(multi_info_read, "curl_multi_info_read");
    find(multi_cleanup, "curl_multi_cleanup");
    find(multi_strerror, "curl_multi_strerror");
    find(slist_append, "curl_slist_append");
    find(slist_free_all, "curl_slist_free_all");
    find(mime_init, "curl_mime_init");
    find(mime_free, "curl_mime_free");
    find(mime_addpart, "curl_mime_addpart");
    find(mime_data, "curl_mime_data");
    find(mime_type, "curl_mime_type");
    find(mime_encoder, "curl_mime_encoder");
    find(mime_filename, "curl_mime_filename");
    find(mime_subparts, "curl_mime_subparts");
}

/// The library, loaded by the first caller.
const library& loaded() {
    static const library l;
    return l;
}

/// The library when it is usable, else null.
const library* curl() {
    const library& l = loaded();
    return l.error.empty() ? &l : nullptr;
}

/// Passes on the value of a variadic setopt call with the type libcurl
/// reads for `option` (its type is the option's multiple of 10000, as in
/// libcurl's own setopt).
template <class Code, class Handle, class Option>
Code forward_option(Code (*set)(Handle*, Option, ...), Handle* handle, Option option,
                    va_list values) {
    switch (static_cast<int>(option) / 10000 * 10000) {
    case CURLOPTTYPE_LONG:
        return set(handle, option, va_arg(values, long));
    case CURLOPTTYPE_FUNCTIONPOINT:
        return set(handle, option, va_arg(values, void (*)()));
    case CURLOPTTYPE_OFF_T:
        return set(handle, option, va_arg(values, curl_off_t));
    default: // objects, strings, lists and blobs: pointers
        return set(handle, option, va_arg(values, void*));
    }
}

} // namespace

namespace casacal::notify {

const std::string& curl_load_error() {
    return loaded().error;
}

} // namespace casacal::notify

extern "C" {

CURLcode curl_global_init(long flags) {
    const library* l = curl();
    return l ? l->global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup() {
    if (const library* l = curl()) l->global_cleanup();
}

CURL* curl_easy_init() {
    const library* l = curl();
    return l ? l->easy_init() : nullptr;
}

CURLcode(curl_easy_setopt)(CURL* easy, CURLoption option, ...) {
    const library* l = curl();
    if (!l) return CURLE_FAILED_INIT;
    va_list values;
    va_start(values, option);
    const CURLcode rc = forward_option(l->easy_setopt, easy, option, values);
    va_end(values);
    return rc;
}

void curl_easy_reset(CURL* easy) {
    if (const library* l = curl()) l->easy_reset(easy);
}

CURLcode(curl_easy_getinfo)(CURL* easy, CURLINFO info, ...) {
    const library* l = curl();
    if (!l) return CURLE_FAILED_INIT;
    // Every CURLINFO takes a pointer to where its value goes.
    va_list values;
    va_start(values, info);
    void* into = va_arg(values, void*);
    va_end(values);
    return l->easy_getinfo(easy, info, into);
}

void curl_easy_cleanup(CURL* easy) {
    if (const library* l = curl()) l->easy_cleanup(easy);
}

const char* curl_easy_strerror(CURLcode code) {
    const library* l = curl();
    return l ? l->easy_strerror(code) : k_not_loaded;
}

CURLM* curl_multi_init() {
    const library* l = curl();
    return l ? l->multi_init() : nullptr;
}

CURLMcode(curl_multi_setopt)(CURLM* multi, CURLMoption option, ...) {
    const library* l = curl();
    if (!l) return CURLM_INTERNAL_ERROR;
    va_list values;
    va_start(values, option);
    const CURLMcode rc = forward_option(l->multi_setopt, multi, option, values);
    va_end(values);
    return rc;
}

CURLMcode curl_multi_add_handle(CURLM* multi, CURL* easy) {
    const library* l = curl();
    return l ? l->multi_add_handle(multi, easy) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_remove_handle(CURLM* multi, CURL* easy) {
    const library* l = curl();
    return l ? l->multi_remove_handle(multi, easy) : CURLM_INTERNAL_ERROR;
}

CURLMcode curl_multi_socket_action(CURLM* multi, curl_socket_t fd, int events, int* running) {
    const library* l = curl();
    return l ? l->multi_socket_action(multi, fd, events, running) : CURLM_INTERNAL_ERROR;
}

CURLMsg* curl_multi_info_read(CURLM* multi, int* left) {
    const library* l = curl();
    return l ? l->multi_info_read(multi, left) : nullptr;
}

CURLMcode curl_multi_cleanup(CURLM* multi) {
    const library* l = curl();
    return l ? l->multi_cleanup(multi) : CURLM_INTERNAL_ERROR;
}

const char* curl_multi_strerror(CURLMcode code) {
    const library* l = curl();
    return l ? l->multi_strerror(code) : k_not_loaded;
}

curl_slist* curl_slist_append(curl_slist* list, const char* text) {
    const library* l = curl();
    return l ? l->slist_append(list, text) : nullptr;
}

void curl_slist_free_all(curl_slist* list) {
    if (const library* l = curl()) l->slist_free_all(list);
}

curl_mime* curl_mime_init(CURL* easy) {
    const library* l = curl();
    return l ? l->mime_init(easy) : nullptr;
}

void curl_mime_free(curl_mime* mime) {
    if (const library* l = curl()) l->mime_free(mime);
}

curl_mimepart* curl_mime_addpart(curl_mime* mime) {
    const library* l = curl();
    return l ? l->mime_addpart(mime) : nullptr;
}

CURLcode curl_mime_data(curl_mimepart* part, const char* data, size_t size) {
    const library* l = curl();
    return l ? l->mime_data(part, data, size) : CURLE_FAILED_INIT;
}

CURLcode curl_mime_type(curl_mimepart* part, const char* type) {
    const library* l = curl();
    return l ? l->mime_type(part, type) : CURLE_FAILED_INIT;
}

CURLcode curl_mime_encoder(curl_mimepart* part, const char* encoding) {
    const library* l = curl();
    return l ? l->mime_encoder(part, encoding) : CURLE_FAILED_INIT;
}

CURLcode curl_mime_filename(curl_mimepart* part, const char* filename) {
    const library* l = curl();
    return l ? l->mime_filename(part, filename) : CURLE_FAILED_INIT;
}

CURLcode curl_mime_subparts(curl_mimepart* part, curl_mime* subparts) {
    const library* l = curl();
    return l ? l->mime_subparts(part, subparts) : CURLE_FAILED_INIT;
}

} // extern "C"
