// An Internet message (RFC 5322, MIME) as a PST message's properties, for
// writing mail from mbox, Maildir or .eml into a new PST: the properties
// Outlook sets when it imports mail ([MS-OXCMAIL] 2.2.3), a recipient row
// per To, Cc and Bcc address, the first plain and HTML text parts as the
// bodies, every other part as an attachment, and message/rfc822 parts as
// embedded messages. Nothing of the message is dropped: parts that are no
// body are attachments, and the header block is kept whole as the
// transport headers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "parsers/pst/message.h"

namespace mailfsck::pstw {

// What the store said about the message besides its bytes.
struct MailState {
    std::string flags;                    // Maildir flags: S read, D draft, ...
    std::optional<std::int64_t> received;  // seconds since 1970, when the store kept it
};

[[nodiscard]] pst::Message message_from_mime(std::string_view message, const MailState& state);

}  // namespace mailfsck::pstw
