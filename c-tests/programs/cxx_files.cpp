// cxx_files.cpp: std::ofstream/std::ifstream move 10 MB through a host file; std::filesystem lists and edits a host directory.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

static int failures;

#define EXPECT(cond)                                                                   \
	do {                                                                           \
		if (!(cond)) {                                                         \
			std::fprintf(stderr, "%s:%d: EXPECT failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                    \
		}                                                                      \
	} while (0)

static char pattern(size_t i)
{
	return static_cast<char>('A' + (i * 7 + i / 1000) % 58);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		std::fprintf(stderr, "usage: cxx_files <scratch directory (emptied)>\n");
		return 2;
	}
	const fs::path dir = argv[1];
	fs::remove_all(dir);
	fs::create_directories(dir);
	const fs::path big = dir / "big.dat";
	const size_t total = 10 * 1000 * 1000;
	{
		std::ofstream out(big, std::ios::binary);
		EXPECT(out.good());
		std::vector<char> block(4096 + 123);
		for (size_t done = 0; done < total;) {
			size_t n = std::min(block.size(), total - done);
			for (size_t i = 0; i < n; i++)
				block[i] = pattern(done + i);
			out.write(block.data(), static_cast<std::streamsize>(n));
			done += n;
		}
		out << "tail line\n";
		EXPECT(out.good());
	}
	EXPECT(fs::file_size(big) == total + 10);
	{
		std::ifstream in(big, std::ios::binary);
		EXPECT(in.good());
		std::vector<char> buf(65536);
		size_t got = 0, bad = 0;
		while (got < total) {
			size_t n = std::min(buf.size(), total - got);
			in.read(buf.data(), static_cast<std::streamsize>(n));
			if (static_cast<size_t>(in.gcount()) != n)
				break;
			for (size_t i = 0; i < n; i++)
				bad += buf[i] != pattern(got + i);
			got += n;
		}
		EXPECT(got == total);
		EXPECT(bad == 0);
		std::string line;
		std::getline(in, line);
		EXPECT(line == "tail line");
	}
	fs::create_directory(dir / "sub");
	std::ofstream(dir / "sub" / "one.txt") << "one";
	std::ofstream(dir / "two.txt") << "two";
	std::vector<std::string> names;
	for (const auto &entry : fs::directory_iterator(dir))
		names.push_back(entry.path().filename().string() + (entry.is_directory() ? "/" : ""));
	std::sort(names.begin(), names.end());
	EXPECT((names == std::vector<std::string>{ "big.dat", "sub/", "two.txt" }));
	size_t recursive = 0;
	for (const auto &entry : fs::recursive_directory_iterator(dir)) {
		(void)entry;
		recursive++;
	}
	EXPECT(recursive == 4);
	fs::rename(dir / "two.txt", dir / "three.txt");
	EXPECT(!fs::exists(dir / "two.txt") && fs::exists(dir / "three.txt"));
	EXPECT(fs::remove_all(dir / "sub") == 2);
	fs::current_path(dir);
	EXPECT(fs::equivalent(fs::current_path(), dir));
	EXPECT(fs::exists("three.txt"));
	if (failures != 0) {
		std::fprintf(stderr, "%d checks FAILED\n", failures);
		return 1;
	}
	std::printf("cxx_files: 10 MB written and read back, directory listed\n");
	return 0;
}
