// The lines of a message held as pieces (views into the input, and the few
// bytes repair adds). A line a piece ends inside is finished by the next
// piece: repair ends a header block cut short by appending its line end.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "parsers/bytes/bytes.h"

namespace mailfsck {

// Calls f(line) for each line, its terminator included (none on the last
// line when the message ends inside it), while f returns true.
template <typename F>
void for_each_piece_line(const std::vector<ByteView>& pieces, F&& f) {
    std::string carried;
    for (const ByteView& piece : pieces) {
        for (std::uint64_t p = 0; p < piece.size();) {
            const std::uint64_t e = piece.next_line(p);
            const std::string_view line = piece.sub(p, e - p).text();
            p = e;
            if (!line.ends_with('\n')) {
                carried.append(line);
                continue;
            }
            bool more = true;
            if (carried.empty()) {
                more = f(line);
            } else {
                carried.append(line);
                more = f(std::string_view(carried));
                carried.clear();
            }
            if (!more) return;
        }
    }
    if (!carried.empty()) f(std::string_view(carried));
}

}  // namespace mailfsck
