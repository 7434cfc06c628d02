// A file's stamp (size, modification time, inode) and what checkUnchanged
// says when a file a model mapped is truncated, grown, rewritten in place,
// replaced by a rename or removed.

#include "io/file_stamp.h"

#include "io_test_util.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

using namespace tokenlens;
using namespace tokenlens::testing;
using ::testing::HasSubstr;

namespace {

// Moves the file's modification time one second on (a rewrite within the
// clock's resolution would otherwise keep it).
void touchLater(const fs::path& p, const fs::file_time_type& before) {
    fs::last_write_time(p, before + std::chrono::seconds(1));
}

} // namespace

TEST(FileStamp, EachChangeIsNamedWithTheFile) {
    TempDir dir;
    const fs::path file = dir.path() / "model.safetensors";
    writeFile(file, std::string(100, 'a'));
    auto mapped = fileStamp(file);
    ASSERT_TRUE(mapped) << mapped.error().message;
    EXPECT_EQ(mapped->size, 100u);
    EXPECT_TRUE(checkUnchanged(file, *mapped));
    const auto mtime = fs::last_write_time(file);

    fs::resize_file(file, 10);
    auto st = checkUnchanged(file, *mapped);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, ErrorCode::Mismatch);
    EXPECT_THAT(st.error().message, HasSubstr(file.string() + ": changed on disk since it was loaded (truncated "
                                                              "from 100 to 10 bytes); reload the model"));

    writeFile(file, std::string(120, 'a'));
    EXPECT_THAT(checkUnchanged(file, *mapped).error().message, HasSubstr("(grown from 100 to 120 bytes)"));

    writeFile(file, std::string(100, 'b')); // the same size, other bytes, in place (the same inode)
    touchLater(file, mtime);
    auto now = fileStamp(file);
    ASSERT_TRUE(now);
    EXPECT_EQ(now->inode, mapped->inode);
    EXPECT_THAT(checkUnchanged(file, *mapped).error().message, HasSubstr("(modified)"));

    const fs::path other = dir.path() / "new.safetensors";
    writeFile(other, std::string(100, 'a'));
    fs::last_write_time(other, mtime);
    fs::rename(other, file); // size and time as mapped, another inode
    EXPECT_THAT(checkUnchanged(file, *mapped).error().message, HasSubstr("(replaced by another file)"));

    fs::remove(file);
    EXPECT_THAT(checkUnchanged(file, *mapped).error().message, HasSubstr("(removed)"));
    auto gone = fileStamp(file);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, ErrorCode::NotFound);
    EXPECT_THAT(gone.error().message, HasSubstr(file.string()));
}
