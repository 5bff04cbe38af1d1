// The wire formats of the notifiers: pure functions from a Message to the JSON body each
// receiver documents. Kept apart from the HTTP code so the shapes can be read side by side.
//
//   Slack   incoming webhook: top-level text (headline, also the push-notification fallback)
//           plus one legacy attachment whose colour bar shows the severity and whose fields
//           are the message fields. Text is escaped as Slack asks (&, <, > only).
//   Teams   Office 365 connector MessageCard, the format Flagger sends (flagger.md §5.1):
//           themeColor by severity, summary, one section with the fields as facts.
//   Discord native webhook body: a short content line and one embed (colour, fields,
//           timestamp), cut to Discord's documented limits (see kDiscord* below).
//   Webhook Augur's own generic JSON (factory.h documents it).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "augur/notifiers/notifier.h"

namespace augur::notifiers::internal {

struct ChatOptions {
  std::string channel;     // slack
  std::string username;    // slack, discord
  std::string icon_emoji;  // slack
  std::string icon_url;    // slack
  std::string avatar_url;  // discord
};

// Discord's limits, in Unicode code points (discord.com developers docs, "Embed Limits").
inline constexpr size_t kDiscordContent = 2000;
inline constexpr size_t kDiscordTitle = 256;
inline constexpr size_t kDiscordDescription = 4096;
inline constexpr size_t kDiscordFields = 25;
inline constexpr size_t kDiscordFieldName = 256;
inline constexpr size_t kDiscordFieldValue = 1024;
inline constexpr size_t kDiscordFooter = 2048;
inline constexpr size_t kDiscordEmbedTotal = 6000;  // title+description+fields+footer

// Colours by severity: Slack's named attachment colours and their hex values elsewhere.
const char* SlackColor(Severity s);  // "good", "warning", "danger"
const char* TeamsColor(Severity s);  // "0076D7", "FFA500", "FF0000" (Flagger: blue / red)
uint32_t DiscordColor(Severity s);   // 0x2EB886, 0xDAA038, 0xA30200

std::string SlackPayload(const Message& m, const ChatOptions& options);
std::string TeamsPayload(const Message& m);
std::string DiscordPayload(const Message& m, const ChatOptions& options);
std::string WebhookPayload(const Message& m);
// The webhook payload plus "level" first, on one line, for log collectors.
std::string LogLine(const Message& m);

// "2026-07-21T10:00:00.123Z" (UTC, millisecond precision).
std::string Rfc3339(int64_t time_ms);
// At most `max_chars` code points of UTF-8 `s`, ending in "…" when cut; invalid bytes count
// as one code point each and are never split further.
std::string TruncateUtf8(std::string_view s, size_t max_chars);
// Number of code points in UTF-8 `s` (same counting as TruncateUtf8).
size_t CountUtf8(std::string_view s);

}  // namespace augur::notifiers::internal
