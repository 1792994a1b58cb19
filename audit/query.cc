#include "audit/query.h"

#include <ctime>
#include <fstream>
#include <map>

#include "audit/record.h"

namespace keyward::audit {
namespace {

std::string text_of(const nlohmann::json& record, const char* name) {
  auto it = record.find(name);
  if (it == record.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

bool matches(const nlohmann::json& record, const RecordFilter& filter) {
  if (!filter.key.empty() && text_of(record, "key") != filter.key) return false;
  if (!filter.scope.empty() && text_of(record, "scope") != filter.scope) return false;
  if (!filter.op.empty()) {
    const std::string op = text_of(record, "op");
    const bool prefix = filter.op.back() == '.';
    if (prefix ? !op.starts_with(filter.op) : op != filter.op) return false;
  }
  const std::string time = text_of(record, "time");
  if (filter.since && time < *filter.since) return false;
  if (filter.until && time >= *filter.until) return false;
  return true;
}

}  // namespace

Result<std::vector<nlohmann::json>> read_records(const std::string& path, const RecordFilter& filter) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCategory::io, "cannot open audit log '" + path + "'");
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(in, line);) {
    auto record = parse_record_line(line);
    if (record && matches(record->json, filter)) records.push_back(std::move(record->json));
  }
  if (in.bad()) return make_error(ErrorCategory::io, "cannot read audit log '" + path + "'");
  return records;
}

std::string format_record(const nlohmann::json& record) {
  std::string line = text_of(record, "time") + " #" + text_of(record, "seq") + " ";
  const std::string type = text_of(record, "type");
  line += type == "event" || type == "usage" ? text_of(record, "op") + " " + text_of(record, "outcome") : type;
  if (auto key = text_of(record, "key"); !key.empty()) line += " key=" + key;
  if (auto scope = text_of(record, "scope"); !scope.empty()) line += " scope=" + scope;
  if (auto details = record.find("details"); details != record.end()) line += " " + canonical(*details);
  if (auto who = record.find("who"); who != record.end() && who->is_object())
    line += " uid=" + text_of(*who, "uid") + " pid=" + text_of(*who, "pid") + " exe=" + text_of(*who, "exe");
  return line;
}

std::string utc_text(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::vector<Alert> refusal_alerts(const std::vector<nlohmann::json>& records, const AlertOptions& options) {
  const std::string since = utc_text(options.now - options.window);
  std::map<std::pair<std::string, std::string>, Alert> counts;
  for (const auto& record : records) {
    if (text_of(record, "outcome") != "refused") continue;
    const std::string time = text_of(record, "time");
    if (time < since) continue;
    std::vector<std::pair<std::string, std::string>> subjects;
    if (auto key = text_of(record, "key"); !key.empty()) subjects.emplace_back("key", key);
    if (auto who = record.find("who"); who != record.end() && who->is_object()) subjects.emplace_back("uid", text_of(*who, "uid"));
    for (const auto& subject : subjects) {
      Alert& alert = counts[subject];
      if (alert.refusals++ == 0) {
        alert.subject = subject.first;
        alert.name = subject.second;
        alert.first = time;
      }
      alert.last = time;
    }
  }
  std::vector<Alert> alerts;
  for (auto& [subject, alert] : counts)
    if (alert.refusals >= options.threshold) alerts.push_back(std::move(alert));
  return alerts;
}

}  // namespace keyward::audit
