#include "mbox_inspect.h"

#include "parsers/mbox/framer.h"

namespace mailfsck {
namespace {

std::string_view kind_name(mbox::SegmentKind k) {
    switch (k) {
        case mbox::SegmentKind::message: return "message";
        case mbox::SegmentKind::junk: return "junk";
        case mbox::SegmentKind::fragment: return "fragment";
    }
    return "?";
}

std::string_view separator_name(mbox::SeparatorKind k) {
    switch (k) {
        case mbox::SeparatorKind::from_strict: return "From_ with date";
        case mbox::SeparatorKind::from_loose: return "From_ without date";
        case mbox::SeparatorKind::mmdf: return "MMDF";
        case mbox::SeparatorKind::lost: return "lost";
        case mbox::SeparatorKind::none: return "none";
    }
    return "?";
}

std::string_view content_length_name(mbox::ContentLength c) {
    switch (c) {
        case mbox::ContentLength::absent: return "absent";
        case mbox::ContentLength::agrees: return "agrees";
        case mbox::ContentLength::disagrees: return "disagrees";
        case mbox::ContentLength::invalid: return "invalid";
    }
    return "?";
}

}  // namespace

nlohmann::json inspect_mbox(const Source& source) {
    const ByteView in = source.bytes();
    mbox::Framer framer(in);
    nlohmann::json segments = nlohmann::json::array();
    while (auto s = framer.next()) {
        nlohmann::json j = {{"kind", kind_name(s->kind)}, {"offset", s->begin}, {"length", s->end - s->begin}};
        if (s->kind == mbox::SegmentKind::message) {
            j["separator"] = {{"kind", separator_name(s->separator_kind)},
                              {"offset", s->separator.offset},
                              {"length", s->separator.length},
                              {"line", std::string(in.sub(s->separator.offset, line_at(in, s->separator.offset).content_length())
                                                       .text()
                                                       .substr(0, s->separator.length ? 200 : 0))}};
            j["headers"] = {{"offset", s->header_begin}, {"fields", s->header_fields}};
            j["body"] = {{"offset", s->body_begin}, {"length", s->content_end - s->body_begin}};
            j["content_length"] = content_length_name(s->content_length);
            j["line_endings"] = {{"crlf", s->crlf_lines}, {"lf", s->lf_lines}};
            nlohmann::json cuts = nlohmann::json::array();
            for (const mbox::Span& c : s->cuts) cuts.push_back({{"offset", c.offset}, {"length", c.length}});
            j["cuts"] = std::move(cuts);
        }
        nlohmann::json defects = nlohmann::json::array();
        for (const mbox::Defect& d : s->defects)
            defects.push_back({{"kind", mbox::defect_name(d.kind)}, {"offset", d.offset}, {"length", d.length},
                               {"detail", d.detail}});
        j["defects"] = std::move(defects);
        segments.push_back(std::move(j));
    }
    const mbox::Evidence& e = framer.evidence();
    return {{"format", "mbox"},
            {"size", in.size()},
            {"evidence",
             {{"separators_with_date", e.separators_strict},
              {"separators_without_date", e.separators_loose},
              {"mmdf_markers", e.separators_mmdf},
              {"quoted_from", e.quoted_from},
              {"double_quoted_from", e.double_quoted_from},
              {"unescaped_from", e.unescaped_from},
              {"content_length_agrees", e.content_length_agrees},
              {"content_length_disagrees", e.content_length_disagrees},
              {"crlf_lines", e.crlf_lines},
              {"lf_lines", e.lf_lines}}},
            {"segments", std::move(segments)}};
}

}  // namespace mailfsck
