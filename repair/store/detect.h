// A format's evidence in a file's content, judged the same way for a file
// given on the command line and for a file met in a directory store.
#pragma once

#include "parsers/bytes/source.h"

namespace mailfsck {

// Does the file begin with a separator line (From_ or MMDF's ^A^A^A^A)?
[[nodiscard]] bool starts_with_separator(const ByteView& bytes);

// Is there a separator anywhere: a From_ line followed by a header field,
// or a leading MMDF marker? Damage may have destroyed the start of the
// file, so the whole file is searched (in constant memory).
[[nodiscard]] bool looks_like_mbox(const Source& source);

// Does the file hold more than one message: two strict separators (each
// followed by a header field)? A single From_ line inside a message is a
// message quoted in its body.
[[nodiscard]] bool holds_several_messages(const Source& source);

// Does the mbox framer find a second message in the file: a separator
// after the first, or the damaged remains of one? What a check of the file
// as an mbox would find, so a file that begins with a From_ line and is
// called one message is one when checked as an mbox too.
[[nodiscard]] bool frames_several_messages(const Source& source);

}  // namespace mailfsck
