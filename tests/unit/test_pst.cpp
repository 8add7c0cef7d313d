// The PST node database's building blocks on bytes made here.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "parsers/mime/headers.h"
#include "parsers/pst/format.h"
#include "parsers/pst/header.h"
#include "parsers/pst/heap.h"
#include "parsers/pst/ltp.h"
#include "parsers/pst/message.h"
#include "parsers/pst/named.h"
#include "parsers/pst/node.h"
#include "parsers/pst/page.h"
#include "repair/pst/pst_compose.h"
#include "tests/unit/pst_bytes.h"
#include "tests/unit/support.h"

using namespace mailfsck;

TEST_CASE("the PST CRC is CRC-32 with init 0 and no final xor ([MS-PST] 5.3)") {
    // The issue gives the check value of Boost's CRC with these parameters (PstCrc).
    CHECK(pst::crc32(ByteView(std::string_view("123456789"))) == 0x2DFD2D88U);
    CHECK(pst::crc32(ByteView(std::string_view(""))) == 0U);
    std::mt19937 rng(7);
    for (const std::size_t n : {1U, 3U, 16U, 496U, 4072U, 8176U, 65512U}) {
        std::string bytes(n, '\0');
        for (char& c : bytes) c = static_cast<char>(rng());
        INFO(n);
        CHECK(pst::crc32(ByteView(bytes)) == test::pst_crc(bytes.data(), bytes.size()));
    }
}

TEST_CASE("signatures fold the low 32 bits of ib ^ bid ([MS-PST] 5.5)") {
    // By hand: 0x7400 ^ 0x4DE = 0x70DE; (0x0000) ^ 0x70DE = 0x70DE.
    CHECK(pst::signature(0x7400, 0x4DE) == 0x70DE);
    // High halves fold in: (0x12345678 ^ 0) -> 0x1234 ^ 0x5678 = 0x444C.
    CHECK(pst::signature(0x12345678, 0) == 0x444C);
    // Only the low 32 bits count.
    CHECK(pst::signature(0x100000000ULL + 5, 0) == pst::signature(5, 0));
}

// The file around a block of n bytes written at 0 after `inserted` went in
// at `at` inside it: what lies at 0 and what lies where its trailer went.
struct CutBlock {
    std::string placed, shifted;
};
CutBlock cut_by(const std::string& block, std::size_t at, const std::string& inserted) {
    std::string file = block;
    file.insert(at, inserted);
    return {file.substr(0, block.size()), file.substr(inserted.size(), block.size())};
}

// Every k whose join gives the CRC, by computing each join's CRC: O(n^2),
// the answer cut_point must find in O(n).
std::vector<std::size_t> joins_with_crc(const CutBlock& c, std::uint32_t crc) {
    std::vector<std::size_t> ks;
    for (std::size_t k = 1; k <= c.placed.size(); ++k) {
        const std::string joined = c.placed.substr(0, k) + c.shifted.substr(k);
        if (test::pst_crc(joined.data(), joined.size()) == crc) ks.push_back(k);
    }
    return ks;
}

TEST_CASE("a block a stretch of inserted bytes cut in two is joined again where its CRC says") {
    std::mt19937 rng(11);
    const auto random_bytes = [&](std::size_t n) {
        std::string s(n, '\0');
        for (char& c : s) c = static_cast<char>(rng());
        return s;
    };
    // Every join that gives the CRC gives the block, and cut_point names
    // them all, the place the bytes went in among them.
    const auto joined_as_computed = [](const CutBlock& c, const std::string& block, std::size_t at) {
        const std::uint32_t crc = test::pst_crc(block.data(), block.size());
        const std::vector<std::size_t> ks = joins_with_crc(c, crc);
        REQUIRE_FALSE(ks.empty());
        for (const std::size_t k : ks) CHECK(c.placed.substr(0, k) + c.shifted.substr(k) == block);
        const std::optional<pst::Cut> cut = pst::cut_point(ByteView(c.placed), ByteView(c.shifted), crc);
        REQUIRE(cut);
        CHECK(cut->first == ks.front());
        CHECK(cut->last == ks.back());
        CHECK(cut->last - cut->first + 1 == ks.size());
        CHECK(cut->first <= at);
        CHECK(at <= cut->last);
    };
    for (const std::size_t n : {64U, 1000U, 8176U}) {
        const std::string block = random_bytes(n);
        const std::uint32_t crc = test::pst_crc(block.data(), block.size());
        for (const std::size_t at : {std::size_t{1}, n / 3, n - 1, n}) {
            for (const std::size_t length : {1U, 37U, 700U, 9000U}) {
                INFO(n << " bytes, " << length << " inserted at " << at);
                joined_as_computed(cut_by(block, at, random_bytes(length)), block, at);
                // The bytes before `at` sent again: the joins from where the
                // repeat begins to `at` all give the block.
                if (length > at) continue;
                const CutBlock twice = cut_by(block, at, block.substr(at - length, length));
                joined_as_computed(twice, block, at);
                const std::optional<pst::Cut> range =
                    pst::cut_point(ByteView(twice.placed), ByteView(twice.shifted), crc);
                REQUIRE(range);
                CHECK(range->first <= at - length + 1);
                // A byte wrong past the cut as well: no join gives the CRC.
                if (at == n) continue;
                CutBlock flipped = twice;
                flipped.shifted.back() = static_cast<char>(flipped.shifted.back() ^ 0x10);
                CHECK_FALSE(pst::cut_point(ByteView(flipped.placed), ByteView(flipped.shifted), crc));
            }
        }
    }
    CHECK_FALSE(pst::cut_point(ByteView(std::string_view("ab")), ByteView(std::string_view("abc")), 0));
}

TEST_CASE("a header cut short is reported as that alone, with no field read past the end") {
    const std::string bytes = "!BDN\0\0\0\0SM\x17\0";
    const pst::Header h = pst::read_header(ByteView(bytes));
    REQUIRE(h.defects.size() == 1);
    CHECK(h.defects[0].kind == pst::HeaderDefectKind::too_short);
    CHECK_FALSE(h.format.has_value());
    const pst::Header empty = pst::read_header(ByteView(std::string_view()));
    CHECK(empty.has(pst::HeaderDefectKind::too_short));
    CHECK(empty.has(pst::HeaderDefectKind::bad_magic));
}

TEST_CASE("layouts: the three formats' sizes from [MS-PST] 2.2.2.7-8 and libpff's 4K notes") {
    const pst::Layout& a = pst::layout_for(pst::Format::ansi);
    const pst::Layout& u = pst::layout_for(pst::Format::unicode);
    const pst::Layout& k = pst::layout_for(pst::Format::unicode_4k);
    CHECK(a.max_block_data() == 8180);
    CHECK(u.max_block_data() == 8176);
    CHECK(a.amap_span == 253952);
    CHECK(u.amap_span == 496ULL * 8 * 64);
    CHECK(k.amap_span == 4072ULL * 8 * 512);
    CHECK(u.align_block(8176) == 8192);
    CHECK(u.align_block(1) == 64);
    CHECK(k.align_block(1) == 512);
    CHECK(pst::format_for_version(14) == pst::Format::ansi);
    CHECK(pst::format_for_version(23) == pst::Format::unicode);
    CHECK(pst::format_for_version(36) == pst::Format::unicode_4k);
    CHECK_FALSE(pst::format_for_version(37).has_value());
}

// String properties ([MS-OXCDATA] 2.11.1): PtypString is UTF-16LE, with
// surrogate pairs for characters past U+FFFF; writers end it with a NUL.
// An unpaired surrogate or an odd byte count is damage: it becomes U+FFFD
// and is flagged, the rest of the string kept. Expected UTF-8 from the
// Unicode code charts.
TEST_CASE("UTF-16 string properties decode to UTF-8, and unpaired surrogates are flagged, not dropped") {
    const auto decode = [](std::vector<unsigned char> bytes, bool& invalid) {
        pst::Property p{0x0037, 0x001F, std::move(bytes), false};
        invalid = false;
        return pst::utf8(p, 0, &invalid).value();
    };
    bool invalid = false;
    // "Aé€" then U+1F600 (D83D DE00), then a terminating NUL.
    CHECK(decode({'A', 0, 0xE9, 0, 0xAC, 0x20, 0x3D, 0xD8, 0x00, 0xDE, 0, 0}, invalid) ==
          "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    CHECK_FALSE(invalid);
    // A high surrogate followed by a plain character.
    CHECK(decode({0x3D, 0xD8, 'B', 0}, invalid) == "\xEF\xBF\xBD" "B");
    CHECK(invalid);
    // A lone low surrogate, and an odd trailing byte.
    CHECK(decode({0x00, 0xDE, 'C', 0, 'D'}, invalid) == "\xEF\xBF\xBD" "C");
    CHECK(invalid);
    // The scan's check gives the same verdicts without decoding: a
    // surrogate pair, a lone surrogate at the end (high) or start (low), an
    // odd byte count after plain text, and a byte string, which it leaves to
    // the code page.
    const auto well_formed = [](std::vector<unsigned char> bytes, std::uint16_t type = 0x001F) {
        return pst::well_formed_utf16(pst::Property{0x0037, type, std::move(bytes), false});
    };
    CHECK(well_formed({'A', 0, 0x3D, 0xD8, 0x00, 0xDE, 0, 0}));
    CHECK_FALSE(well_formed({'A', 0, 0x3D, 0xD8}));
    CHECK_FALSE(well_formed({0x00, 0xDC, 'A', 0}));
    CHECK_FALSE(well_formed({'A', 0, 'B'}));
    CHECK(well_formed({'A', 0, 'B'}, 0x001E));
    // PtypString8 in windows-1252: 0x80 is the euro sign.
    pst::Property s8{0x0037, 0x001E, {'x', 0x80, 0}, false};
    CHECK(pst::utf8(s8, 1252).value() == "x\xE2\x82\xAC");
}

// NAMEID records by hand from [MS-PST] 2.4.7.1: dwPropertyID, then wGuid
// (bit 0: string name; the rest: 1 PS_MAPI, 2 PS_PUBLIC_STRINGS, 3 and up
// the GUID stream's entries), then wPropIdx (the id is 0x8000 + it).
TEST_CASE("the name-to-id map resolves numbered names through the GUID stream and skips broken entries") {
    using namespace mailfsck::pst;
    std::vector<unsigned char> guids;
    for (const Guid* g : {&psetid::meeting, &psetid::address})
        for (const unsigned char b : *g) guids.push_back(b);
    std::vector<unsigned char> entries;
    const auto entry = [&](std::uint32_t name, std::uint16_t guid_and_kind, std::uint16_t index) {
        for (int i = 0; i < 4; ++i) entries.push_back(static_cast<unsigned char>(name >> (8 * i)));
        entries.push_back(static_cast<unsigned char>(guid_and_kind));
        entries.push_back(static_cast<unsigned char>(guid_and_kind >> 8));
        entries.push_back(static_cast<unsigned char>(index));
        entries.push_back(static_cast<unsigned char>(index >> 8));
    };
    entry(0x8083, 4 << 1, 0);      // PidLidEmail1EmailAddress, second GUID: 0x8000
    entry(0x0003, 3 << 1, 5);      // PidLidGlobalObjectId, first GUID: 0x8005
    entry(0x0001, 1 << 1, 7);      // PS_MAPI: 0x8007
    entry(100, (4 << 1) | 1, 8);   // a string name past the string stream
    entry(0, (2 << 1) | 1, 10);    // "Keywords" in PS_PUBLIC_STRINGS: 0x800A
    entry(0x8084, 9 << 1, 9);      // GUID 9: the stream has 2
    entry(0x8085, 4 << 1, 0x7FFF); // id 0xFFFF: out of range
    std::vector<unsigned char> strings{16, 0, 0, 0};  // a length, then UTF-16LE
    for (const char c : std::string("Keywords")) strings.insert(strings.end(), {static_cast<unsigned char>(c), 0});
    const NameMap map = NameMap::from_streams(guids, entries, strings);
    CHECK(map.id(psetid::address, 0x8083) == std::optional<std::uint16_t>(0x8000));
    CHECK(map.id(psetid::meeting, 0x0003) == std::optional<std::uint16_t>(0x8005));
    CHECK(map.id(psetid::mapi, 0x0001) == std::optional<std::uint16_t>(0x8007));
    CHECK_FALSE(map.id(psetid::address, 0x8084));
    CHECK_FALSE(map.id(psetid::address, 0x8085));
    CHECK(map.size() == 3);  // numbered names
    REQUIRE(map.name(0x800A) != nullptr);
    CHECK(map.name(0x800A)->name == std::optional<std::string>("Keywords"));
    CHECK(map.name(0x800A)->set == psetid::public_strings);
    REQUIRE(map.name(0x8005) != nullptr);
    CHECK(map.name(0x8005)->lid == 3);
    CHECK(map.name(0x8008) == nullptr);
    CHECK(map.defects == std::vector<std::string>{"1 entr(ies) with a property index out of range (the first: entry 6, index 32767)",
                                                  "1 entr(ies) naming no GUID (the first: entry 5, GUID index 9)",
                                                  "1 entr(ies) with a string name past the string stream (the first: entry 3)"});
    // The stored form of {00062004-0000-0000-C000-000000000046} ([MS-OXPROPS] 1.3.2).
    CHECK(psetid::address == Guid{0x04, 0x20, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46});
}

// A damaged entry stream: every entry names one long string, and some
// give an index again. Names stored once fill at most the string stream;
// copies beyond it are bounded (64 MiB), so the map stays linear.
TEST_CASE("name-to-id map entries that share one long string name, or repeat an index, are bounded and named") {
    using namespace mailfsck::pst;
    constexpr std::uint32_t length = 64 * 1024;  // bytes of UTF-16LE
    std::vector<unsigned char> strings{0, 0, 1, 0};  // 0x10000
    strings.resize(4 + length, 'n');
    std::vector<unsigned char> entries;
    const auto entry = [&](std::uint16_t index) {
        entries.insert(entries.end(), {0, 0, 0, 0, (2 << 1) | 1, 0});  // offset 0, PS_PUBLIC_STRINGS, a string
        entries.push_back(static_cast<unsigned char>(index));
        entries.push_back(static_cast<unsigned char>(index >> 8));
    };
    constexpr std::uint16_t named = 2048;
    for (std::uint16_t i = 0; i < named; ++i) entry(i);
    for (std::uint16_t i = 0; i < 5; ++i) entry(i);
    const NameMap map = NameMap::from_streams({}, entries, strings);
    // Once within the stream's size, then as many as 64 MiB holds.
    constexpr std::uint64_t kept = 1 + (std::uint64_t{64} << 20) / length;
    std::uint64_t found = 0;
    for (std::uint16_t i = 0; i < named; ++i) {
        const PropertyName* n = map.name(static_cast<std::uint16_t>(0x8000 + i));
        if (n == nullptr) continue;
        ++found;
        // "nn" is U+6E6E, three bytes of UTF-8.
        CHECK(n->name.value_or("").size() == length / 2 * 3);
    }
    CHECK(found == kept);
    CHECK(map.defects == std::vector<std::string>{"5 entr(ies) giving a property index an earlier entry gave (the first: entry 2048)",
                                                  std::to_string(named - kept) +
                                                      " entr(ies) whose string names, copied past the string stream's size and "
                                                      "64 MiB, were left out (the first: entry " +
                                                      std::to_string(kept) + ")"});
}

// Two string names that differ only in their damaged units: one with a
// lone high surrogate (0xD800), one with a lone low one (0xDC00). Each
// reads as "A" and U+FFFD, so the two are one name to anything that
// writes them again; the map must say so.
TEST_CASE("name-to-id map string names that are not UTF-16 are kept with U+FFFD and named as defects") {
    using namespace mailfsck::pst;
    const std::vector<unsigned char> strings{4, 0, 0, 0, 'A', 0, 0x00, 0xD8, 4, 0, 0, 0, 'A', 0, 0x00, 0xDC,
                                             2, 0, 0, 0, 'B', 0};
    const std::vector<unsigned char> entries{0, 0, 0, 0, (2 << 1) | 1, 0, 1, 0,   // offset 0: 0x8001
                                             8, 0, 0, 0, (2 << 1) | 1, 0, 2, 0,   // offset 8: 0x8002
                                             16, 0, 0, 0, (2 << 1) | 1, 0, 3, 0}; // offset 16: 0x8003, sound
    const NameMap map = NameMap::from_streams({}, entries, strings);
    for (const std::uint16_t id : {std::uint16_t{0x8001}, std::uint16_t{0x8002}}) {
        REQUIRE(map.name(id) != nullptr);
        CHECK(map.name(id)->name == std::optional<std::string>("A\xEF\xBF\xBD"));
    }
    REQUIRE(map.name(0x8003) != nullptr);
    CHECK(map.name(0x8003)->name == std::optional<std::string>("B"));
    CHECK(map.defects == std::vector<std::string>{"2 entr(ies) whose string names are not well-formed UTF-16 (kept with "
                                                  "U+FFFD for the bad units) (the first: entry 0, offset 0)"});
}

// RFC 4648 section 10's vectors, and RFC 2045's 76-character lines: a line
// break after every 57 input bytes and one at the end, none when unwrapped.
TEST_CASE("base64 gives RFC 4648's test vectors and RFC 2045's line length") {
    const auto enc = [](const std::string& s, bool lines) {
        return mailfsck::base64(std::vector<unsigned char>(s.begin(), s.end()), lines);
    };
    const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (const auto& [in, out] : vectors) {
        CHECK(enc(in, false) == out);
        CHECK(enc(in, true) == (std::string(out).empty() ? "" : std::string(out) + "\n"));
    }
    for (const std::size_t n : {56U, 57U, 58U, 113U, 114U, 115U, 171U}) {
        const std::string wrapped = enc(std::string(n, 'x'), true);
        std::size_t lines = 0, longest = 0, current = 0;
        for (const char c : wrapped) {
            if (c == '\n') {
                ++lines;
                longest = std::max(longest, current);
                current = 0;
            } else {
                ++current;
            }
        }
        INFO(n);
        CHECK(current == 0);
        CHECK(lines == (n + 56) / 57);
        CHECK(longest <= 76);
        CHECK(wrapped.size() - lines == (n + 2) / 3 * 4);
    }
}

// A BTH whose index names its own record block ([MS-PST] 2.3.2: each index
// record is a key and the HID of the level below). Read naively, 20
// records over 8 levels make 20^8 leaves from a 150-byte heap; each record
// block is followed once, so the read ends at once with a defect.
TEST_CASE("a BTH index naming its own block is read once, with a defect, not 20^8 times") {
    using namespace mailfsck::pst;
    const auto le16 = [](std::vector<unsigned char>& v, unsigned x) {
        v.push_back(static_cast<unsigned char>(x & 0xFF));
        v.push_back(static_cast<unsigned char>(x >> 8));
    };
    const auto le32 = [&](std::vector<unsigned char>& v, std::uint32_t x) {
        le16(v, x & 0xFFFF);
        le16(v, x >> 16);
    };
    std::vector<unsigned char> bth{0xB5, 2, 6, 8};  // bType, cbKey, cbEnt, bIdxLevels 8
    le32(bth, 0x40);                                 // hidRoot: allocation 2
    std::vector<unsigned char> index;
    for (unsigned k = 0; k < 20; ++k) {
        le16(index, k);
        le32(index, 0x40);  // every record names allocation 2 itself
    }
    const unsigned map_at = 12 + static_cast<unsigned>(bth.size() + index.size());
    std::vector<unsigned char> heap;
    le16(heap, map_at);
    heap.push_back(0xEC);  // bSig
    heap.push_back(0xB5);  // bClientSig
    le32(heap, 0x20);      // hidUserRoot: allocation 1
    le32(heap, 0);         // rgbFillLevel
    heap.insert(heap.end(), bth.begin(), bth.end());
    heap.insert(heap.end(), index.begin(), index.end());
    le16(heap, 2);  // cAlloc
    le16(heap, 0);  // cFree
    for (const unsigned at : {12U, 12U + static_cast<unsigned>(bth.size()), map_at}) le16(heap, at);
    const Heap h({heap});
    REQUIRE(h.valid());
    const Bth b = read_bth(h, h.user_root());
    CHECK(b.records.empty());
    bool named_twice = false;
    for (const std::string& d : b.defects) named_twice = named_twice || d.find("twice") != std::string::npos;
    CHECK(named_twice);
}

TEST_CASE("sealing makes the header's and pages' checksums what Outlook wrote") {
    // Each file's CRCs and signatures, wiped and sealed again, come back as
    // the program that wrote the file made them: the fuzz targets' checksum
    // mode builds on this.
    for (const char* rel : {"pst/simiden_pst2john/97_outlook_pass12345.pst", "pst/emk_pstsdk/sample1.pst",
                            "pst/npm_pst-extractor/pstextractortest@outlook.com.ost"}) {
        const auto path = test::shared_path(rel);
        if (!path) return;
        INFO(rel);
        const std::string file = test::read_file(*path);
        const std::vector<std::uint8_t> original(file.begin(), file.end());
        const pst::Header h = pst::read_header(ByteView(file));
        REQUIRE(h.format);
        REQUIRE(h.defects.empty());
        const pst::Layout& layout = pst::layout_for(*h.format);

        std::vector<std::uint8_t> header(original.begin(), original.begin() + 564);
        std::fill_n(header.begin() + 4, 4, 0);
        if (layout.wide) std::fill_n(header.begin() + 524, 4, 0);
        pst::seal_header(header);
        CHECK(std::equal(header.begin(), header.end(), original.begin()));

        for (const std::uint64_t ib : {h.bbt.ib, h.nbt.ib, layout.first_amap}) {
            INFO(ib);
            const auto from = original.begin() + static_cast<std::ptrdiff_t>(ib);
            std::vector<std::uint8_t> page(from, from + layout.page_size);
            // wSig, then the CRC: after it in the wide formats, after the 4-byte id in ANSI.
            const std::size_t trailer = layout.page_size - layout.page_trailer;
            std::fill_n(page.begin() + static_cast<std::ptrdiff_t>(trailer + 2), 2, 0);
            std::fill_n(page.begin() + static_cast<std::ptrdiff_t>(trailer + (layout.wide ? 4 : 8)), 4, 0);
            pst::seal_page(page, layout, ib);
            CHECK(std::equal(page.begin(), page.end(), from));
        }
    }
}

// [MS-PST] 2.2.2.2: a BID's bit 0 is reserved (readers ignore it), bit 1
// marks an internal block; the rest is the index.
TEST_CASE("sound blocks are kept by id, bit 0 ignored and bit 1 not, within a bound") {
    mailfsck::pst::BlockSet sound;
    sound.add(0x104);
    CHECK(sound.contains(0x104));
    CHECK(sound.contains(0x105));
    CHECK_FALSE(sound.contains(0x106));
    CHECK_FALSE(sound.contains(0x108));
    CHECK_FALSE(sound.contains(0x100));
    // An id as large as a damaged index may hold costs nothing and is not kept.
    sound.add(std::uint64_t{1} << 62);
    CHECK_FALSE(sound.contains(std::uint64_t{1} << 62));
    // Counted once per block: 0x105 is 0x104 with the reserved bit set.
    sound.add(0x105);
    sound.add(0x104);
    CHECK(sound.size() == 1);
    sound.add(0x106);
    CHECK(sound.size() == 2);
}

// Three blocks, each now lying 64 bytes past where it was written (where
// other bytes lie now): the index places them where they were written,
// carving where they lie. A block read from its sound copy there was read
// whole; one whose copy fails its CRC too was not, and is said so, as is
// one no index has; one never asked for is not said at all.
TEST_CASE("a block that cannot be read where it was written nor where it lies is recorded as unreadable, and only such a block") {
    // [MS-PST] 5.5: the signature of the place the block was written at.
    const auto sig = [](std::uint64_t ib, std::uint64_t bid) {
        const auto k = static_cast<std::uint32_t>(ib ^ bid);
        return (k >> 16 ^ k) & 0xFFFF;
    };
    const std::string data = "moved!";
    std::string file(384, '\x5A');
    std::vector<pst::BbtEntry> placed, carved;
    for (const std::uint64_t bid : {4U, 8U, 12U}) {
        const std::uint64_t written = (bid / 4 - 1) * 128, lies = written + 64;
        file.replace(lies, data.size(), data);
        const std::uint64_t trailer = test::block_trailer_at(lies, data.size());
        test::put_le(file, trailer, data.size(), 2);
        test::put_le(file, trailer + 2, sig(written, bid), 2);
        test::store_pst_crc(file, trailer + 4, lies, data.size());
        test::put_le(file, trailer + 8, bid, 8);
        placed.push_back({.bid = bid, .ib = written, .cb = 6, .cb_inflated = 6});
        carved.push_back({.bid = bid, .ib = lies, .cb = 6, .cb_inflated = 6, .moved = true});
    }
    file[192] ^= 0x01;  // block 8's copy: its CRC fails
    const pst::SalvageIndex index(placed, {}), moved(carved, {});
    pst::NodeReader reader(ByteView(file), pst::layout_for(pst::Format::unicode), pst::Crypt::none, index);
    reader.relocate_through(moved);
    pst::BlockSet unreadable;
    reader.record_unreadable(unreadable);
    std::vector<pst::ReadIssue> issues;
    const std::optional<std::vector<unsigned char>> four = reader.block(4, issues);
    REQUIRE(four);
    CHECK(std::string(four->begin(), four->end()) == data);
    CHECK(issues.empty());
    CHECK_FALSE(reader.block(8, issues));
    CHECK_FALSE(issues.empty());
    CHECK_FALSE(reader.block(16, issues));  // in no index
    CHECK_FALSE(unreadable.contains(4));
    CHECK(unreadable.contains(8));
    CHECK_FALSE(unreadable.contains(12));
    CHECK(unreadable.contains(16));
    CHECK(unreadable.size() == 2);
}

TEST_CASE("transport headers are composed without the lines that are not fields, so the header block is whole") {
    // A continuation before any field, and a field name with a byte outside
    // printable ASCII (RFC 5322 2.2) with its own continuation; PtypString8
    // in windows-1252, so 0xE3 is U+00E3.
    const std::string raw = " orphan continuation\r\nReceived: by example.org\r\nContent\xE3Type: multipart/mixed; boundary=\"b\"\r\n"
                            "\tfolded part\r\nX-Kept: yes\r\n\r\n";
    pst::Message m;
    m.properties.valid = true;
    m.properties.properties = {pst::Property{pst::tag::transport_headers, static_cast<std::uint16_t>(pst::PropType::string8),
                                             std::vector<unsigned char>(raw.begin(), raw.end()), false}};
    const std::string out = compose_message(m, pst::NameMap{}).bytes;
    const std::string head = out.substr(0, out.find("\n\n") + 2);
    CHECK(head.rfind("Received: by example.org\nX-Kept: yes\n", 0) == 0);
    for (const char* gone : {"orphan", "multipart/mixed", "folded"}) CHECK(head.find(gone) == std::string::npos);
    CHECK(mime::read_header_block(ByteView(std::string_view(out)), 0).how == mime::BlockEnd::blank_line);
}

TEST_CASE("an attachment's MIME tag gives its part a bare media type, never a composite one") {
    // RFC 2045 5.1: type "/" subtype, each a token, case-insensitive; the
    // composer writes its own parameters after it, so what the tag holds
    // beyond the type (parameters, an open quote, a comment) is not copied,
    // and a composite type, which readers parse as a structure, is not a leaf.
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"image/png", "image/png"},
        {"IMAGE/PNG", "image/png"},
        {" text/plain ; charset=\"us-ascii", "text/plain"},
        {"Multipart/Mixed", "application/octet-stream"},
        {"MESSAGE/rfc822", "application/octet-stream"},
        {"image/png (photo)", "application/octet-stream"},
        {"text/pl\"ain", "application/octet-stream"},
        {"text/", "application/octet-stream"},
    };
    pst::Message m;
    m.properties.valid = true;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const std::string name = "a" + std::to_string(i) + ".bin";
        const std::string& tag = cases[i].first;
        pst::Attachment a;
        a.properties.valid = true;
        a.properties.properties = {
            pst::Property{pst::tag::attach_data, static_cast<std::uint16_t>(pst::PropType::binary), {'x'}, false},
            pst::Property{pst::tag::attach_method, static_cast<std::uint16_t>(pst::PropType::integer32), {1, 0, 0, 0}, false},
            pst::Property{pst::tag::attach_long_filename, static_cast<std::uint16_t>(pst::PropType::string8),
                          std::vector<unsigned char>(name.begin(), name.end()), false},
            pst::Property{pst::tag::attach_mime_tag, static_cast<std::uint16_t>(pst::PropType::string8),
                          std::vector<unsigned char>(tag.begin(), tag.end()), false}};
        m.attachments.push_back(std::move(a));
    }
    const std::string out = compose_message(m, pst::NameMap{}).bytes;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        INFO(cases[i].first);
        CHECK(out.find("Content-Type: " + cases[i].second + "; name=\"a" + std::to_string(i) + ".bin\"\n") != std::string::npos);
    }
}

TEST_CASE("store values holding control bytes stay out of the header block, so no field body has them") {
    // RFC 5322 3.2.5 leaves control bytes (tab aside) out of every field body
    // but obs-text, which is for reading; a line break inside a value read
    // from a damaged store would end the field, or the whole header block.
    const auto string8 = [](std::uint16_t id, const std::string& v) {
        return pst::Property{id, static_cast<std::uint16_t>(pst::PropType::string8),
                             std::vector<unsigned char>(v.begin(), v.end()), false};
    };
    const std::string raw = "Received: by example.org\r\nSubject: \x01\x02\x03\x04 broken\r\nX-Folded: a\r\n\tb\x05"
                            "c\r\nX-Cr: a\rb\r\nX-Kept: yes\r\n\r\n";
    pst::Message m;
    m.properties.valid = true;
    m.properties.properties = {string8(pst::tag::subject, "Hello"),
                               string8(pst::tag::transport_headers, raw),
                               string8(pst::tag::internet_message_id, "<id@example.org>\r\nFrom evil\x06\x07")};
    pst::Attachment a;
    a.properties.valid = true;
    const std::vector<unsigned char> data = {'x'};
    a.properties.properties = {pst::Property{pst::tag::attach_data, static_cast<std::uint16_t>(pst::PropType::binary), data, false},
                               pst::Property{pst::tag::attach_method, static_cast<std::uint16_t>(pst::PropType::integer32),
                                             {1, 0, 0, 0}, false},
                               string8(pst::tag::attach_content_id, "part\x0e\x0f@example.org")};
    m.attachments.push_back(std::move(a));
    const std::string out = compose_message(m, pst::NameMap{}).bytes;
    // Every part is 7bit or encoded: no control byte but tab and LF anywhere.
    CHECK(std::none_of(out.begin(), out.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return (u < 32 && u != '\t' && u != '\n') || u == 127;
    }));
    const std::string head = out.substr(0, out.find("\n\n") + 2);
    CHECK(head.rfind("Received: by example.org\nX-Kept: yes\n", 0) == 0);
    CHECK(head.find("Subject: Hello\n") != std::string::npos);
    for (const char* gone : {"broken", "X-Folded", "X-Cr", "Message-ID", "evil"}) CHECK(head.find(gone) == std::string::npos);
    CHECK(out.find("Content-ID") == std::string::npos);
    CHECK(mime::read_header_block(ByteView(std::string_view(out)), 0).how == mime::BlockEnd::blank_line);
}
