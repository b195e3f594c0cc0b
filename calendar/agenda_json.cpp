#include "calendar/zone.hpp"

#include <nlohmann/json.hpp>

namespace casacal::calendar {

namespace {

const char* status_name(config::status s) {
    switch (s) {
    case config::status::tentative:
        return "tentative";
    case config::status::cancelled:
        return "cancelled";
    case config::status::confirmed:
        break;
    }
    return "confirmed";
}

std::string rfc3339(const config::civil& local, int offset, bool all_day) {
    return all_day ? iso_text(local, true) : iso_text(local) + offset_text(offset);
}

} // namespace

std::string agenda_json(const std::vector<occurrence>& occurrences) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const occurrence& o : occurrences) {
        nlohmann::ordered_json j;
        j["uid"] = o.uid;
        j["event"] = o.event_id;
        j["title"] = o.title;
        j["category"] = o.category;
        j["start"] = rfc3339(o.start_local, o.start_offset, o.all_day);
        j["end"] = rfc3339(o.end_local, o.end_offset, o.all_day);
        j["all_day"] = o.all_day;
        j["location"] = o.location;
        j["status"] = status_name(o.status);
        j["recurrence_id"] = o.recurrence_id.empty() ? nlohmann::ordered_json()
                                                     : nlohmann::ordered_json(o.recurrence_id);
        j["url"] = o.url;
        list.push_back(std::move(j));
    }
    nlohmann::ordered_json doc;
    doc["occurrences"] = std::move(list);
    return doc.dump();
}

} // namespace casacal::calendar
