#!/usr/bin/env bash
# Windows portability check of divkern's C++ core and kernels, run from Linux.
#
# cibuildwheel builds the Windows wheels with MSVC; this script finds, without a Windows
# machine, what would break there (or silently take a slower code path). It needs the
# MinGW-w64 cross compiler (Debian/Ubuntu: apt-get install g++-mingw-w64-x86-64) and
# python3; pybind11 (pip) for the optional bindings pass.
#
# Passes (each source list, ISA level and flag set is read from CMakeLists.txt):
#   mingw      x86_64-w64-mingw32-g++ -std=c++17 -Wall -Wextra -Wpedantic, -c at -O2, every
#              dk_core source once (DK_COMPILED_<LEVEL> for every level) and every kernel
#              source once per ISA level with that level's GNU flags and DK_ISA_NS /
#              DK_ISA_NAME. Windows ABI (LLP64: long is 32 bits), MinGW headers. Any
#              warning located in the project counts as a problem (-Werror for our code;
#              warnings inside the toolchain's own headers are ignored).
#   msvc-sim   the same compiles with MSVC's predefined macros simulated as far as GCC
#              allows: _MSC_VER, _MSVC_LANG, _M_X64/_M_AMD64 and _OPENMP=200203 defined;
#              every target macro GCC defines for the level's flags (__SSE2__, __F16C__,
#              __FMA__, ...) undefined except the ones MSVC defines for the level's /arch
#              option (none; __AVX__ __AVX2__; + __AVX512F/CD/BW/DQ/VL__). GCC keeps
#              its __builtin_* and __attribute__, so these are checked by msvc-view.
#              The dk_core sources get -mxsave (GCC's _xgetbv needs it, MSVC's does not).
#   msvc-view  the preprocessor alone (-undef -nostdinc, system headers replaced by empty
#              stubs) with nothing but MSVC's predefined macros, i.e. exactly the project
#              text MSVC compiles. Fails on GNU-only constructs in it (__builtin_*,
#              __attribute__, inline asm, #pragma GCC, [[gnu::]], typeof, __int128, ...),
#              on SIMD intrinsics used before any intrinsics header is included, and on
#              ISA-dependent code paths that differ between GCC's and MSVC's target
#              macros at the same level (e.g. the SSE2 baseline not selected by MSVC).
#   lint       source lints: #if tests of GCC-only predefined macros without an MSVC
#              alternative, __has_builtin & co. unguarded, __cplusplus tests (MSVC
#              reports 199711L without /Zc:__cplusplus), OpenMP constructs and API beyond
#              OpenMP 2.0 (MSVC's /openmp), omp for loops whose variable is not a signed
#              integer or whose test is not <, <=, >, >=; sources CMake builds that
#              this check does not know about.
#   bindings   (when python3 has pybind11) csrc/bindings/* with MinGW against this
#              machine's pybind11 and Python headers, the Python config patched for a
#              Windows (LLP64, no POSIX headers) target. Only diagnostics located in
#              csrc/ count: this pass cannot use real Windows Python headers.
#
# Usage: tools/check_windows.sh [--quick] [--no-bindings] [--keep] [-v]
#   --quick        -fsyntax-only -O0 instead of -c -O2 (misses diagnostics that need the
#                  optimiser: -Wmaybe-uninitialized, always_inline target mismatches)
#   --no-bindings  skip the bindings pass
#   --keep         keep the work directory (logs, preprocessed views) and print its path
#   -v             print each compiler command
# Environment: DK_MINGW_CXX (default x86_64-w64-mingw32-g++), PYTHON (default python3),
#   DK_CHECK_WERROR=0 to report project warnings without failing on them.
# Exit status: 0 no problem, 1 problems found (listed, grouped by file), 2 setup error.
#
# Compiles run one after another (about a minute and a half on one core).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2

CXX=${DK_MINGW_CXX:-x86_64-w64-mingw32-g++}
PY=${PYTHON:-python3}
QUICK=0
BINDINGS=1
KEEP=0
VERBOSE=0
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --no-bindings) BINDINGS=0 ;;
    --keep) KEEP=1 ;;
    -v) VERBOSE=1 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "check_windows.sh: unknown argument '$a' (see --help)" >&2; exit 2 ;;
  esac
done

if ! command -v "$CXX" >/dev/null 2>&1; then
  echo "check_windows.sh: $CXX not found. Install MinGW-w64, e.g." >&2
  echo "  apt-get install g++-mingw-w64-x86-64   (or set DK_MINGW_CXX)" >&2
  exit 2
fi
if ! command -v "$PY" >/dev/null 2>&1; then
  echo "check_windows.sh: $PY not found (set PYTHON)" >&2
  exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dk-check-windows.XXXXXX") || exit 2
if [ "$KEEP" = 1 ]; then
  trap 'echo "work directory kept: $WORK"' EXIT
else
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK/log" "$WORK/obj" "$WORK/view" "$WORK/stubs"
PROBLEMS=$WORK/problems.tsv
: >"$PROBLEMS"

# ----------------------------------------------------------------------------- helper
# Parsing CMakeLists.txt, compiler diagnostics and preprocessed output, the source lints
# and the report are in Python (stdlib only).
HELPER=$WORK/helper.py
cat >"$HELPER" <<'PYEOF'
import os, re, sys, shlex, glob

def add(probs, sev, f, line, tag, msg):
    msg = msg.replace('\t', ' ').replace('\n', ' ')
    with open(probs, 'a') as fh:
        fh.write('%s\t%s\t%d\t%s\t%s\n' % (sev, f, int(line), tag, msg))

# ---------------------------------------------------------------- CMakeLists.txt
def cmd_cmake(root, probs):
    raw = open(os.path.join(root, 'CMakeLists.txt')).read()
    lines = []
    for l in raw.splitlines():
        out, q = [], False
        for ch in l:
            if ch == '"':
                q = not q
            if ch == '#' and not q:
                break
            out.append(ch)
        lines.append(''.join(out))
    t = '\n'.join(lines)

    def args(pat, required=True):
        m = re.search(pat, t, re.S)
        if not m:
            if required:
                sys.stderr.write('check_windows.sh: cannot find %s in CMakeLists.txt\n' % pat)
                sys.exit(2)
            return []
        return [a.strip('"') for a in m.group(1).split()]

    src = lambda xs: [x for x in xs if re.search(r'\.(cpp|cc|cxx)$', x)]
    core = src(args(r'add_library\(\s*dk_core\s+STATIC\b(.*?)\)'))
    kern = src(args(r'set\(\s*DK_KERNEL_SOURCES\b(.*?)\)'))
    bind = src(args(r'pybind11_add_module\(\s*\w+\s+(?:MODULE\s+)?(.*?)\)', False))
    isas = args(r'set\(\s*DK_ISA_LIST\b(.*?)\)') + args(r'list\(\s*APPEND\s+DK_ISA_LIST\b(.*?)\)', False)
    gflags = args(r'if\s*\(\s*CMAKE_CXX_COMPILER_ID\s+MATCHES\s+"?GNU\|Clang"?\s*\)\s*add_compile_options\((.*?)\)', False)
    msvc_part = gnu_part = None
    for m in re.finditer(r'(?<![A-Za-z_])if\s*\(\s*MSVC\s*\)(.*?)\n\s*else\s*\(\s*\)(.*?)\n\s*endif\s*\(', t, re.S):
        if 'DK_FLAGS_' in m.group(0):
            msvc_part, gnu_part = m.group(1), m.group(2)
            break
    if msvc_part is None:
        sys.stderr.write('check_windows.sh: cannot find the if(MSVC) ... else() block of DK_FLAGS_* in CMakeLists.txt\n')
        sys.exit(2)

    def flags(part):
        d = {}
        for m in re.finditer(r'set\(\s*DK_FLAGS_(\w+)\b(.*?)\)', part, re.S):
            out = []
            for a in m.group(2).split():
                a = a.strip('"')
                r = re.fullmatch(r'\$\{DK_FLAGS_(\w+)\}', a)
                if r:
                    out += d.get(r.group(1), [])
                elif a:
                    out.append(a)
            d[m.group(1)] = out
        return d
    gnu, msvc = flags(gnu_part), flags(msvc_part)
    for isa in isas:
        if isa not in gnu or isa not in msvc:
            sys.stderr.write('check_windows.sh: no DK_FLAGS_%s for both compilers in CMakeLists.txt\n' % isa)
            sys.exit(2)
    for needle in ('DK_ISA_NS=isa_${isa}', 'DK_ISA_NAME="${isa}"', 'DK_COMPILED_${ISA_UPPER}'):
        if needle not in t:
            sys.stderr.write('check_windows.sh: warning: CMakeLists.txt no longer has %s; '
                             'the defines used here may be stale\n' % needle)
    known = set(core) | set(kern) | set(bind)
    for f in sorted(glob.glob(os.path.join(root, 'csrc', '**', '*.c*'), recursive=True)):
        rel = os.path.relpath(f, root)
        if re.search(r'\.(cpp|cc|cxx)$', rel) and rel not in known:
            add(probs, 'error', rel, 1, 'cmake',
                'source not listed in dk_core, DK_KERNEL_SOURCES or pybind11_add_module: '
                'this check does not compile it (update CMakeLists.txt or the check)')
    # MSVC's predefined ISA macros per /arch option (x64; Microsoft "Predefined macros")
    arch = {'': [], '/arch:SSE2': [], '/arch:SSE4.2': [], '/arch:AVX': ['__AVX__'],
            '/arch:AVX2': ['__AVX__', '__AVX2__'],
            '/arch:AVX512': ['__AVX__', '__AVX2__', '__AVX512F__', '__AVX512CD__',
                             '__AVX512BW__', '__AVX512DQ__', '__AVX512VL__']}
    q = lambda xs: '(' + ' '.join(shlex.quote(x) for x in xs) + ')'
    print('CORE_SRCS=' + q(core))
    print('KERNEL_SRCS=' + q(kern))
    print('BIND_SRCS=' + q(bind))
    print('ISAS=' + q(isas))
    print('GLOBAL_GNU=' + q(gflags))
    for isa in isas:
        a = ' '.join(msvc[isa])
        if a not in arch:
            sys.stderr.write('check_windows.sh: unknown MSVC flags for %s: %r\n' % (isa, a))
            sys.exit(2)
        print('GNU_FLAGS_%s=%s' % (isa, q(gnu[isa])))
        print('MSVC_FLAGS_%s=%s' % (isa, shlex.quote(a)))
        print('MSVC_ISA_%s=%s' % (isa, q(arch[a])))

# ---------------------------------------------------------------- compiler diagnostics
DIAG = re.compile(r'^(.*?):(\d+):(?:(\d+):)? (fatal error|error|warning): (.*)$')
PROJ_NOTE = re.compile(r'^(csrc/[^:]+):(\d+):(?:\d+:)? (?:note|required from here)')

def cmd_diag(probs, tag, log, rc, werror):
    lines = open(log, errors='replace').read().splitlines()
    n_err = n_foreign = 0
    for i, l in enumerate(lines):
        m = DIAG.match(l)
        if not m:
            continue
        f, ln, kind, msg = m.group(1), int(m.group(2)), m.group(4), m.group(5)
        msg = re.sub(r'\bisa_(\w+)\b', 'isa_<level>', msg)
        proj = f.startswith('csrc/')
        if kind == 'warning' and not proj:
            n_foreign += 1
            continue
        if not proj:  # error inside a toolchain header: name the project line that led there
            for l2 in lines[i + 1:i + 40]:
                m2 = PROJ_NOTE.match(l2) or re.match(r'^\s*(csrc/[^:]+):(\d+):\d+:\s+required from', l2)
                if m2:
                    msg += ' (from %s:%s)' % (m2.group(1), m2.group(2))
                    break
        sev = 'error' if kind != 'warning' or werror else 'warning'
        add(probs, sev, f, ln, tag, kind + ': ' + msg)
        n_err += 1
    if rc != 0 and n_err == 0:
        add(probs, 'error', log, 0, tag, 'compiler exited with status %d and no parsable diagnostic; see the log' % rc)
    if n_foreign:
        sys.stderr.write('    (%d warnings inside toolchain headers ignored)\n' % n_foreign)

# ---------------------------------------------------------------- preprocessed views
INTRIN_HEADERS = {'immintrin.h', 'intrin.h', 'xmmintrin.h', 'emmintrin.h', 'pmmintrin.h',
                  'tmmintrin.h', 'smmintrin.h', 'nmmintrin.h', 'wmmintrin.h', 'zmmintrin.h',
                  'ammintrin.h', 'mmintrin.h', 'x86intrin.h'}
INTRIN_TOKEN = re.compile(r'\b(_mm(?:256|512)?_\w+|__m(?:64|128|256|512)[di]?|__mmask(?:8|16|32|64)|_MM_[A-Z0-9_]+'
                          r'|_(?:lzcnt|tzcnt|pdep|pext|bzhi|blsr|popcnt)_u\d+|_xgetbv|__cpuidex|__cpuid|_BitScan\w+|__popcnt\w*)\b')
GNU_ONLY = [
    (re.compile(r'\b__builtin_\w+'), '{tok}: GCC/Clang builtin, MSVC does not have it{fix}'),
    (re.compile(r'\b__attribute__\b'), '__attribute__: GNU syntax, MSVC rejects it (use a macro: __forceinline / __declspec(...) under _MSC_VER)'),
    (re.compile(r'\b(?:__asm__|__asm|asm)\b'), '{tok}: inline assembly, MSVC has none on x64 (use an intrinsic from <intrin.h>)'),
    (re.compile(r'\b(?:__typeof__|__typeof|typeof)\b'), '{tok}: GNU extension, use decltype'),
    (re.compile(r'\b__extension__\b'), '__extension__: GNU only'),
    (re.compile(r'\b(?:__int128|__int128_t|__uint128_t)\b'), '{tok}: MSVC has no 128-bit integer type'),
    (re.compile(r'\b__restrict__\b'), '__restrict__: GNU spelling, MSVC spells it __restrict'),
    (re.compile(r'\b__PRETTY_FUNCTION__\b'), '__PRETTY_FUNCTION__: GNU only (MSVC: __FUNCSIG__)'),
    (re.compile(r'\b(?:__label__|__auto_type|__thread)\b'), '{tok}: GNU only'),
    (re.compile(r'^\s*#\s*pragma\s+(?:GCC|clang)\b.*'), '"{tok}": GCC/Clang pragma, MSVC ignores it with warning C4068'),
    (re.compile(r'\[\[\s*(?:gnu|clang)::\w+'), '{tok}: GNU attribute, MSVC ignores it (warning C5030)'),
    (re.compile(r'\b(?:and|or|not|xor|bitand|bitor|compl|and_eq|or_eq|xor_eq|not_eq)\b'),
     'alternative token "{tok}": MSVC needs /permissive- or <ciso646> for it'),
]
BUILTIN_FIX = [
    (r'__builtin_(inf|huge_val)f?$', 'std::numeric_limits<T>::infinity() (<limits>, constexpr)'),
    (r'__builtin_nanf?$', 'std::numeric_limits<T>::quiet_NaN() (<limits>, constexpr; same bits as __builtin_nan(""))'),
    (r'__builtin_prefetch$', '_mm_prefetch (<xmmintrin.h>) on x86, nothing elsewhere'),
    (r'__builtin_expect$', 'a DK_LIKELY macro that is empty under MSVC'),
    (r'__builtin_unreachable$', '__assume(0) under MSVC'),
    (r'__builtin_(ctz|clz|popcount)\w*$', '_BitScanForward/_BitScanReverse/__popcnt (<intrin.h>)'),
    (r'__builtin_assume_aligned$', 'nothing (or __assume under MSVC)'),
    (r'__builtin_(memcpy|memset)$', 'std::memcpy / std::memset'),
]

def builtin_fix(tok):
    for rx, fix in BUILTIN_FIX:
        if re.match(rx, tok):
            return '; use ' + fix
    return ''

STR = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')

def parse_view(path, stubdir):
    seq, cur, ln = [], None, 0
    stubdir = stubdir.rstrip('/') + '/'
    for raw in open(path, errors='replace'):
        s = raw.rstrip('\n')
        m = re.match(r'^# (\d+) "((?:[^"\\]|\\.)*)"(.*)$', s)
        if m:
            ln, cur = int(m.group(1)), m.group(2)
            if cur.startswith('csrc/'):
                seq.append(('file', cur))
            if cur.startswith(stubdir) and '1' in m.group(3).split():
                seq.append(('inc', os.path.basename(cur)))
            continue
        if cur and cur.startswith('csrc/') and s.strip():
            seq.append(('code', cur, ln, s))
        ln += 1
    return seq

def read_src(f, cache={}):
    if f not in cache:
        cache[f] = open(f, errors='replace').read().splitlines()
    return cache[f]

def is_code(text):
    s = text.strip()
    return bool(s) and not s.startswith('//') and not s.startswith('#') and not s.startswith('*') and not s.startswith('/*')

def ranges(f, lines):
    src = read_src(f)
    out, start, prev = [], None, None
    for l in sorted(lines):
        if start is None:
            start = prev = l
            continue
        if all(not is_code(src[k - 1]) for k in range(prev + 1, l) if k - 1 < len(src)):
            prev = l
        else:
            out.append((start, prev))
            start = prev = l
    if start is not None:
        out.append((start, prev))
    return out

def span(a, b):
    return 'line %d' % a if a == b else 'lines %d-%d' % (a, b)

def controlling(f, line):
    src, depth = read_src(f), 0
    for j in range(line - 1, 0, -1):
        m = re.match(r'\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b', src[j - 1])
        if not m:
            continue
        d = m.group(1)
        if d == 'endif':
            depth += 1
        elif d in ('if', 'ifdef', 'ifndef'):
            if depth == 0:
                return j, src[j - 1].strip()
            depth -= 1
        elif depth == 0:
            return j, src[j - 1].strip()
    return 0, '(not under a conditional)'

def cmd_view(probs, tag, gnu_view, msvc_view, stubdir, reached):
    g = parse_view(gnu_view, stubdir)
    v = parse_view(msvc_view, stubdir)
    with open(reached, 'a') as fh:
        for e in g + v:
            if e[0] in ('code', 'file'):
                fh.write(e[1] + '\n')
    # GNU-only constructs in what MSVC compiles
    seen = set()
    for e in v:
        if e[0] != 'code':
            continue
        _, f, ln, text = e
        bare = STR.sub('""', text)
        for rx, what in GNU_ONLY:
            for m in rx.finditer(bare):
                key = (f, ln, m.group(0))
                if key in seen:
                    continue
                seen.add(key)
                tok = m.group(0).strip()
                add(probs, 'error', f, ln, tag, 'MSVC compiles ' + what.format(tok=tok, fix=builtin_fix(tok)))
    # intrinsics used before any intrinsics header
    have = False
    for e in v:
        if e[0] == 'inc':
            have = have or e[1] in INTRIN_HEADERS
        elif e[0] == 'code' and not have:
            m = INTRIN_TOKEN.search(STR.sub('""', e[3]))
            if m:
                add(probs, 'error', e[1], e[2], tag,
                    'uses %s but, with MSVC\'s predefined macros, no intrinsics header (<immintrin.h>, '
                    '<intrin.h>, <xmmintrin.h>, ...) has been included before this point' % m.group(1))
    # ISA-dependent paths: GCC's target macros vs MSVC's, at the same level
    gl = {}
    vl = {}
    for e, d in [(x, gl) for x in g] + [(x, vl) for x in v]:
        if e[0] == 'code':
            d.setdefault(e[1], set()).add(e[2])
    for f in sorted(set(gl) | set(vl)):
        only_g = gl.get(f, set()) - vl.get(f, set())
        only_v = vl.get(f, set()) - gl.get(f, set())
        for a, b in ranges(f, only_g):
            j, d = controlling(f, a)
            add(probs, 'error', f, a, tag,
                '%s (under `%s`, line %d) compiled with GCC\'s target macros for this level '
                'but not with MSVC\'s: MSVC takes another code path here' % (span(a, b), d, j))
        for a, b in ranges(f, only_v):
            j, d = controlling(f, a)
            add(probs, 'note' if only_g else 'error', f, a, tag,
                '%s (under `%s`, line %d): what MSVC compiles instead' % (span(a, b), d, j))

# ---------------------------------------------------------------- source lints
MSVC_PREDEF = {'_MSC_VER', '_MSC_FULL_VER', '_MSC_BUILD', '_MSVC_LANG', '_WIN32', '_WIN64',
               '_M_X64', '_M_AMD64', '_M_IX86', '_M_IX86_FP', '_M_ARM', '_M_ARM64', '_M_ARM64EC',
               '_OPENMP', '__cplusplus', '__STDC_HOSTED__', '__FILE__', '__LINE__', '__DATE__', '__TIME__',
               '__COUNTER__', '__AVX__', '__AVX2__', '__AVX512F__', '__AVX512CD__', '__AVX512BW__',
               '__AVX512DQ__', '__AVX512VL__', '_CPPUNWIND', '_CPPRTTI', '_DEBUG', '_DLL', '_MT',
               '__STDCPP_THREADS__', '__STDCPP_DEFAULT_NEW_ALIGNMENT__', '_INTEGRAL_MAX_BITS',
               '__has_include', '__has_cpp_attribute'}
COMPILER_ID = {'__GNUC__', '__GNUC_MINOR__', '__GNUC_PATCHLEVEL__', '__GNUG__', '__clang__',
               '__clang_major__', '__clang_minor__', '__MINGW32__', '__MINGW64__', '__INTEL_COMPILER',
               '__INTEL_LLVM_COMPILER', '__NVCC__', '__CUDACC__'}
OS_MACROS = {'__linux__', '__linux', 'linux', '__unix__', '__unix', 'unix', '__APPLE__', '__MACH__',
             '__FreeBSD__', '__NetBSD__', '__OpenBSD__', '__gnu_linux__', '__ELF__', '__EMSCRIPTEN__',
             '__ANDROID__', '__CYGWIN__'}
SSE = {'__SSE__', '__SSE2__', '__SSE_MATH__', '__SSE2_MATH__', '__MMX__', '__MMX_WITH_SSE__'}
V3 = {'__SSE3__', '__SSSE3__', '__SSE4_1__', '__SSE4_2__', '__POPCNT__', '__FMA__', '__F16C__', '__BMI__',
      '__BMI2__', '__LZCNT__', '__MOVBE__', '__XSAVE__', '__CRC32__', '__FXSR__', '__PCLMUL__', '__AES__',
      '__FP_FAST_FMA', '__FP_FAST_FMAF'}
ALT = [(SSE, ('_M_X64', '_M_AMD64', '_M_IX86_FP'),
        'MSVC never defines it (x64 always has SSE2): use a DK_X86_SSE2 macro set by '
        '#if defined(__SSE2__) || defined(_M_X64) || defined(_M_AMD64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2)'),
       (V3, ('__AVX2__', '_MSC_VER'),
        'MSVC never defines it; its /arch:AVX2 (x86-64-v3 here) implies the feature but defines only '
        '__AVX__/__AVX2__: test e.g. defined({tok}) || (defined(_MSC_VER) && defined(__AVX2__))'),
       ({'__x86_64__', '__x86_64', '__amd64__', '__amd64'}, ('_M_X64', '_M_AMD64'), 'MSVC spells it _M_X64 / _M_AMD64'),
       ({'__i386__', '__i386', 'i386'}, ('_M_IX86',), 'MSVC spells it _M_IX86'),
       ({'__aarch64__'}, ('_M_ARM64',), 'MSVC spells it _M_ARM64'),
       ({'__arm__'}, ('_M_ARM',), 'MSVC spells it _M_ARM')]
OMP2_DIRECTIVES = ['parallel for', 'parallel sections', 'parallel', 'for', 'sections', 'section', 'single',
                   'master', 'critical', 'barrier', 'atomic', 'flush', 'ordered', 'threadprivate']
OMP2_CLAUSES = {'private', 'firstprivate', 'lastprivate', 'shared', 'default', 'reduction', 'copyin',
                'copyprivate', 'if', 'num_threads', 'ordered', 'schedule', 'nowait'}
OMP2_API = {'omp_set_num_threads', 'omp_get_num_threads', 'omp_get_max_threads', 'omp_get_thread_num',
            'omp_get_num_procs', 'omp_in_parallel', 'omp_set_dynamic', 'omp_get_dynamic', 'omp_set_nested',
            'omp_get_nested', 'omp_init_lock', 'omp_destroy_lock', 'omp_set_lock', 'omp_unset_lock',
            'omp_test_lock', 'omp_init_nest_lock', 'omp_destroy_nest_lock', 'omp_set_nest_lock',
            'omp_unset_nest_lock', 'omp_test_nest_lock', 'omp_get_wtime', 'omp_get_wtick'}
SIGNED = re.compile(r'^(?:const\s+)?(?:signed\s+)?(?:(?:std::)?(?:int(?:8|16|32|64)_t|ptrdiff_t|intptr_t|intmax_t)'
                    r'|Py_ssize_t|py::ssize_t|int|short|long|long\s+long|long\s+int|long\s+long\s+int|signed|__int64)$')

def logical_lines(path):
    text = open(path, errors='replace').read()
    text = re.sub(r'/\*.*?\*/', lambda m: '\n' * m.group(0).count('\n'), text, flags=re.S)
    out, buf, start = [], '', None
    for i, l in enumerate(text.split('\n'), 1):
        l = re.sub(r'//.*$', '', STR.sub(lambda m: '""' if m.group(0).startswith('"') else "''", l))
        if start is None:
            start = i
        if l.endswith('\\'):
            buf += l[:-1] + ' '
            continue
        out.append((start, buf + l))
        buf, start = '', None
    return out

def cmd_lint(probs, gcc_macros_file, root):
    gcc = set(open(gcc_macros_file).read().split())
    files = sorted(f for f in glob.glob(os.path.join(root, 'csrc', '**', '*'), recursive=True)
                   if re.search(r'\.(c|cc|cpp|cxx|h|hh|hpp|hxx|inl)$', f))
    for path in files:
        f = os.path.relpath(path, root)
        ll = logical_lines(path)
        stack = []
        for idx, (ln, l) in enumerate(ll):
            m = re.match(r'\s*#\s*(if|ifdef|ifndef|elif|else|endif|pragma)\b(.*)$', l)
            if m:
                d, cond = m.group(1), m.group(2)
                if d in ('if', 'ifdef', 'ifndef', 'elif'):
                    if d == 'elif' and stack:
                        ctx = any(stack[:-1]) or stack[-1]
                    else:
                        ctx = any(stack)
                    ids = set(re.findall(r'\b[A-Za-z_]\w*\b', cond)) - {'defined'}
                    lint_cond(probs, f, ln, d, cond, ids, gcc, ctx)
                    if d == 'elif' and stack:
                        stack[-1] = stack[-1] or '_MSC_VER' in ids
                    else:
                        stack.append('_MSC_VER' in ids)
                elif d == 'endif' and stack:
                    stack.pop()
                elif d == 'pragma' and re.match(r'\s*omp\b', cond):
                    lint_omp(probs, f, ln, cond, ll[idx + 1:idx + 4])
                    sys.stderr.write('    checked for OpenMP 2.0: %s:%d: #pragma%s\n' % (f, ln, cond))
            for fn in re.findall(r'\b(omp_\w+)\s*\(', l):
                if fn not in OMP2_API:
                    add(probs, 'error', f, ln, 'openmp', '%s() is not in OpenMP 2.0 (MSVC /openmp)' % fn)

def lint_cond(probs, f, ln, d, cond, ids, gcc, ctx):
    for b in ('__has_builtin', '__has_attribute', '__has_feature', '__has_extension', '__has_include_next'):
        if re.search(r'\b%s\s*\(' % b, cond) and not re.search(r'defined\s*\(?\s*%s\b' % b, cond):
            add(probs, 'error', f, ln, 'lint', '%s(...) in #%s: MSVC has no %s and fails on it; '
                'guard with #if defined(%s) first' % (b, d, b, b))
    if '__cplusplus' in ids and '_MSVC_LANG' not in ids:
        add(probs, 'error', f, ln, 'lint', '__cplusplus test: MSVC reports 199711L unless /Zc:__cplusplus; '
            'test _MSVC_LANG too')
    if ctx:
        return  # this conditional (or an earlier branch / an enclosing one) already tests _MSC_VER
    for tok in sorted(ids):
        if tok in MSVC_PREDEF or tok in COMPILER_ID or tok in OS_MACROS:
            continue
        if tok not in gcc and not tok.startswith('__SIZEOF_') and not re.fullmatch(r'__AVX512\w+__', tok):
            continue
        for group, alts, why in ALT:
            if tok in group:
                if not ids & set(alts):
                    add(probs, 'error', f, ln, 'lint', '#%s tests %s: %s' % (d, tok, why.format(tok=tok)))
                break
        else:
            add(probs, 'error', f, ln, 'lint', '#%s tests %s, which MSVC never predefines (and no _MSC_VER '
                'alternative is tested here)' % (d, tok))

def lint_omp(probs, f, ln, cond, following):
    body = re.sub(r'^\s*omp\s+', '', cond).strip()
    directive = None
    for dname in OMP2_DIRECTIVES:
        if re.match(r'%s\b' % dname.replace(' ', r'\s+'), body):
            directive = dname
            body = body[re.match(r'%s\b' % dname.replace(' ', r'\s+'), body).end():]
            break
    if directive is None:
        add(probs, 'error', f, ln, 'openmp', '#pragma omp %s: not an OpenMP 2.0 directive (MSVC /openmp '
            'implements 2.0)' % cond.strip())
        return
    if directive == 'critical':
        body = re.sub(r'^\s*\(\s*\w+\s*\)', '', body)
    if directive == 'flush':
        body = re.sub(r'^\s*\([^)]*\)', '', body)
    for m in re.finditer(r'(\w+)\s*(\((?:[^()]|\([^()]*\))*\))?', body):
        c, a = m.group(1), (m.group(2) or '')[1:-1].strip()
        if c not in OMP2_CLAUSES:
            add(probs, 'error', f, ln, 'openmp', 'clause %s on omp %s: not in OpenMP 2.0 (MSVC /openmp)' % (c, directive))
        elif c == 'schedule':
            kind = a.split(',')[0].strip()
            if kind not in ('static', 'dynamic', 'guided', 'runtime'):
                add(probs, 'error', f, ln, 'openmp', 'schedule(%s): OpenMP 2.0 has static, dynamic, guided, '
                    'runtime, no modifiers' % a)
        elif c == 'default' and a not in ('shared', 'none'):
            add(probs, 'error', f, ln, 'openmp', 'default(%s): OpenMP 2.0 has only shared and none' % a)
        elif c == 'reduction' and a.split(':')[0].strip() not in ('+', '*', '-', '&', '|', '^', '&&', '||'):
            add(probs, 'error', f, ln, 'openmp', 'reduction(%s): OpenMP 2.0 has no min/max or user reductions' % a)
    if directive == 'atomic' and re.search(r'\b(read|write|update|capture|seq_cst)\b', body):
        add(probs, 'error', f, ln, 'openmp', 'atomic clauses are OpenMP 3.1+')
    if directive in ('for', 'parallel for'):
        loop = next((l for _, l in following if l.strip()), '')
        m = re.match(r'\s*for\s*\(\s*(.*?)\s*;\s*(.*?)\s*;', loop)
        if not m:
            add(probs, 'error', f, ln, 'openmp', 'omp %s is not followed by a for loop the check can read' % directive)
            return
        init, test = m.group(1), m.group(2)
        mi = re.match(r'(.*?)\s*\b(\w+)\s*=', init)
        typ = mi.group(1).strip() if mi else ''
        if typ and not SIGNED.match(typ):
            add(probs, 'error', f, ln, 'openmp', 'loop variable of type "%s": MSVC\'s OpenMP 2.0 requires a signed '
                'integer (error C3016)' % typ)
        if not typ:
            add(probs, 'warning', f, ln, 'openmp', 'loop variable declared before the loop: check by hand that it '
                'is a signed integer (MSVC error C3016 otherwise)')
        if not re.search(r'(<=|>=|<|>)', test) or '!=' in test:
            add(probs, 'error', f, ln, 'openmp', 'loop test "%s": OpenMP 2.0 needs <, <=, > or >= (MSVC error C3017)' % test)

# ---------------------------------------------------------------- report
ORDER = {'cmake': 0, 'lint': 1, 'openmp': 2, 'mingw': 3, 'msvc-sim': 4, 'msvc-view': 5, 'bindings': 6}

def cmd_report(probs, reached, root):
    rows = {}
    for l in open(probs):
        sev, f, ln, tag, msg = l.rstrip('\n').split('\t', 4)
        rows.setdefault((f, int(ln), sev, msg), []).append(tag)
    if os.path.exists(reached):
        seen = set(open(reached).read().split())
        for h in sorted(glob.glob(os.path.join(root, 'csrc', '**', '*.h*'), recursive=True)):
            rel = os.path.relpath(h, root)
            if rel not in seen and not rel.startswith('csrc/bindings/'):
                rows.setdefault((rel, 0, 'note', 'header not reached by any source: not checked by msvc-view'),
                                []).append('msvc-view')
    def tagkey(t):
        p, _, lv = t.partition(':')
        return (ORDER.get(p, 9), lv)
    byfile = {}
    for (f, ln, sev, msg), tags in rows.items():
        tags = sorted(set(tags), key=tagkey)
        merged = {}
        for t in tags:
            p, _, lv = t.partition(':')
            merged.setdefault(p, []).append(lv)
        tag = ' '.join(p + (':' + ','.join(x for x in lv if x) if any(lv) else '') for p, lv in merged.items())
        byfile.setdefault(f, []).append((ln, sev, tag, msg))
    n = {'error': 0, 'warning': 0, 'note': 0}
    for f in sorted(byfile):
        print('\n' + f)
        for ln, sev, tag, msg in sorted(byfile[f], key=lambda r: (r[0], r[1] != 'error', r[3])):
            n[sev] = n.get(sev, 0) + 1
            print('  %s:%d: %s [%s] %s' % (f, ln, sev, tag, msg))
    print('\n%d error(s), %d warning(s), %d note(s)' % (n['error'], n['warning'], n['note']))
    return 1 if n['error'] else 0

if __name__ == '__main__':
    c, a = sys.argv[1], sys.argv[2:]
    if c == 'cmake':
        cmd_cmake(*a)
    elif c == 'diag':
        cmd_diag(a[0], a[1], a[2], int(a[3]), a[4] == '1')
    elif c == 'view':
        cmd_view(*a)
    elif c == 'lint':
        cmd_lint(*a)
    elif c == 'report':
        sys.exit(cmd_report(*a))
PYEOF

helper() { "$PY" "$HELPER" "$@"; }

# ----------------------------------------------------------------------------- CMake
CMAKE_VARS=$(helper cmake "$ROOT" "$PROBLEMS") || exit 2
eval "$CMAKE_VARS"
echo "divkern Windows check with $("$CXX" --version | head -1)"
echo "  ISA levels: ${ISAS[*]}; core: ${#CORE_SRCS[@]} sources, kernels: ${KERNEL_SRCS[*]}"

# OpenMP: MinGW GCC has it where libgomp for the target is installed.
OMPFLAG=()
if echo '#include <omp.h>
int main() { return omp_get_max_threads(); }' | "$CXX" -fopenmp -x c++ - -o "$WORK/omp.exe" >/dev/null 2>&1; then
  OMPFLAG=(-fopenmp)
else
  echo "  note: $CXX has no working -fopenmp; compiling without OpenMP"
fi

WERROR=${DK_CHECK_WERROR:-1}
if [ "$QUICK" = 1 ]; then MODE=(-fsyntax-only -O0); else MODE=(-O2 -c); fi
BASE=(-std=c++17 "${GLOBAL_GNU[@]}" -Wall -Wextra -Wpedantic -DNDEBUG "${OMPFLAG[@]}" -Icsrc)

UPPER() { echo "$1" | tr '[:lower:]' '[:upper:]'; }
CORE_DEFS=()
for isa in "${ISAS[@]}"; do CORE_DEFS+=("-DDK_COMPILED_$(UPPER "$isa")"); done

# Target macros GCC defines for a set of flags: everything that differs from an x86-64
# compile without SSE and MMX (the ISA feature macros and the _Float16 ones, which MSVC
# does not have either).
macros() { "$CXX" "$@" -dM -E -x c++ /dev/null | awk '{print $2}' | sort -u; }
macros -mno-sse -mno-mmx >"$WORK/nosse.macros"
target_macros() { comm -23 <(macros "$@") "$WORK/nosse.macros"; }
# every macro GCC predefines (for the lint), at the widest level
{ macros; macros "${OMPFLAG[@]}" $(for isa in "${ISAS[@]}"; do eval "echo \${GNU_FLAGS_$isa[@]}"; done);
  command -v g++ >/dev/null 2>&1 && g++ -dM -E -x c++ /dev/null | awk '{print $2}'; } | sort -u >"$WORK/gcc.macros"

# MSVC identity (x64, /std:c++17, /EHsc, /MD, /fp:precise, /openmp)
MSVC_ID=(-D_MSC_VER=1939 -D_MSC_FULL_VER=193933523 -D_MSC_BUILD=0 -D_MSC_EXTENSIONS=1 -D_MSVC_LANG=201703L
         -D_WIN32=1 -D_WIN64=1 -D_M_X64=100 -D_M_AMD64=100 -D_INTEGRAL_MAX_BITS=64 -D_CPPRTTI=1
         -D_CPPUNWIND=1 -D_MT=1 -D_DLL=1 -D_M_FP_PRECISE=1)
[ ${#OMPFLAG[@]} -gt 0 ] && MSVC_ID+=(-D_OPENMP=200203)

run_cc() {  # tag log args...
  local tag=$1 log=$2 rc
  shift 2
  [ "$VERBOSE" = 1 ] && echo "    $CXX $*"
  "$CXX" "$@" >"$log" 2>&1
  rc=$?
  helper diag "$PROBLEMS" "$tag" "$log" "$rc" "$WERROR"
}
objname() { echo "$WORK/obj/$(echo "$1" | tr '/' '_').$2.o"; }

# ----------------------------------------------------------------------------- mingw
echo "[mingw] MinGW-w64 GCC, GNU flags from CMakeLists.txt"
for s in "${CORE_SRCS[@]}"; do
  echo "  $s"
  run_cc "mingw" "$WORK/log/mingw.$(basename "$s").log" "${BASE[@]}" "${CORE_DEFS[@]}" "${MODE[@]}" \
    "$s" -o "$(objname "$s" core)"
done
for isa in "${ISAS[@]}"; do
  eval "FL=(\"\${GNU_FLAGS_$isa[@]}\")"
  for s in "${KERNEL_SRCS[@]}"; do
    echo "  $s [$isa] ${FL[*]}"
    run_cc "mingw:$isa" "$WORK/log/mingw.$isa.$(basename "$s").log" "${BASE[@]}" "${FL[@]}" \
      "-DDK_ISA_NS=isa_$isa" "-DDK_ISA_NAME=\"$isa\"" "${MODE[@]}" "$s" -o "$(objname "$s" "$isa")"
  done
done

# ----------------------------------------------------------------------------- msvc-sim
msvc_sim_flags() {  # isa -> SIM array: undefine GCC's target macros MSVC lacks, MSVC identity
  local isa=$1 m
  eval "local fl=(\"\${GNU_FLAGS_$isa[@]}\") keep=(\"\${MSVC_ISA_$isa[@]}\")"
  SIM=()
  for m in $(target_macros "${fl[@]}"); do
    case " ${keep[*]} " in *" $m "*) ;; *) SIM+=("-U$m") ;; esac
  done
  [ ${#OMPFLAG[@]} -gt 0 ] && SIM+=(-U_OPENMP)
  SIM+=("${MSVC_ID[@]}")
}
echo "[msvc-sim] MinGW-w64 GCC with MSVC's predefined macros"
msvc_sim_flags "${ISAS[0]}"
for s in "${CORE_SRCS[@]}"; do
  echo "  $s"
  run_cc "msvc-sim" "$WORK/log/msvc-sim.$(basename "$s").log" "${BASE[@]}" "${CORE_DEFS[@]}" "${SIM[@]}" \
    -mxsave "${MODE[@]}" "$s" -o "$(objname "$s" core-msvc)"
done
for isa in "${ISAS[@]}"; do
  eval "FL=(\"\${GNU_FLAGS_$isa[@]}\"); MF=\$MSVC_FLAGS_$isa"
  msvc_sim_flags "$isa"
  for s in "${KERNEL_SRCS[@]}"; do
    echo "  $s [$isa] as MSVC ${MF:-(no /arch)}"
    run_cc "msvc-sim:$isa" "$WORK/log/msvc-sim.$isa.$(basename "$s").log" "${BASE[@]}" "${FL[@]}" "${SIM[@]}" \
      "-DDK_ISA_NS=isa_$isa" "-DDK_ISA_NAME=\"$isa\"" "${MODE[@]}" "$s" -o "$(objname "$s" "$isa-msvc")"
  done
done

# ----------------------------------------------------------------------------- msvc-view
echo "[msvc-view] project text as MSVC preprocesses it (system headers stubbed)"
STUBS=$WORK/stubs
grep -rhoE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<[^>]+>' csrc | sed -E 's/.*<([^>]+)>.*/\1/' | sort -u |
  while read -r h; do mkdir -p "$STUBS/$(dirname "$h")"; : >"$STUBS/$h"; done
REACHED=$WORK/reached.txt
: >"$REACHED"
view() {  # tag src isa defs...
  local tag=$1 s=$2 isa=$3 m
  shift 3
  eval "local fl=(\"\${GNU_FLAGS_$isa[@]}\") keep=(\"\${MSVC_ISA_$isa[@]}\")"
  local gdefs=() vdefs=()
  for m in $(target_macros "${fl[@]}") __x86_64__ __x86_64 __amd64__ __amd64; do gdefs+=("-D$m"); done
  for m in "${keep[@]}"; do vdefs+=("-D$m=1"); done
  local base="$WORK/view/$(echo "$s" | tr '/' '_').$isa"
  local pp=("$CXX" -E -undef -nostdinc -isystem "$STUBS" -Icsrc -std=c++17 -DNDEBUG "${MSVC_ID[@]}" "$@")
  [ "$VERBOSE" = 1 ] && echo "    ${pp[*]} ${vdefs[*]} $s"
  "${pp[@]}" "${gdefs[@]}" "$s" -o "$base.gnu.i" 2>"$base.gnu.log"
  local rc1=$?
  "${pp[@]}" "${vdefs[@]}" "$s" -o "$base.msvc.i" 2>"$base.msvc.log"
  local rc2=$?
  helper diag "$PROBLEMS" "$tag" "$base.msvc.log" "$rc2" "$WERROR"
  if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then return; fi
  helper view "$PROBLEMS" "$tag" "$base.gnu.i" "$base.msvc.i" "$STUBS" "$REACHED"
}
for s in "${CORE_SRCS[@]}"; do
  echo "  $s"
  view "msvc-view" "$s" "${ISAS[0]}" "${CORE_DEFS[@]}"
done
for isa in "${ISAS[@]}"; do
  for s in "${KERNEL_SRCS[@]}"; do
    echo "  $s [$isa]"
    view "msvc-view:$isa" "$s" "$isa" "-DDK_ISA_NS=isa_$isa" "-DDK_ISA_NAME=\"$isa\""
  done
done
for s in "${BIND_SRCS[@]}"; do
  echo "  $s"
  view "msvc-view" "$s" "${ISAS[0]}"
done

# ----------------------------------------------------------------------------- lint
echo "[lint] preprocessor tests, OpenMP 2.0"
helper lint "$PROBLEMS" "$WORK/gcc.macros" "$ROOT"

# ----------------------------------------------------------------------------- bindings
if [ "$BINDINGS" = 1 ] && [ ${#BIND_SRCS[@]} -gt 0 ]; then
  PYINC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])' 2>/dev/null)
  PBINC=$("$PY" -c 'import pybind11; print(pybind11.get_include())' 2>/dev/null)
  if [ -n "$PYINC" ] && [ -n "$PBINC" ] && [ -f "$PYINC/pyconfig.h" ]; then
    echo "[bindings] MinGW-w64 GCC against $PBINC and a Windows-patched copy of $PYINC"
    mkdir -p "$WORK/python"
    cp -r "$PYINC/." "$WORK/python/"
    # This machine's pyconfig.h describes Linux: drop POSIX headers and threads, LP64 sizes.
    grep -vE '^#define (HAVE_SYS_[A-Z_]+_H|HAVE_PTHREAD[A-Z_]*|HAVE_FORK[A-Z]*|SIZEOF_LONG|ALIGNOF_LONG|SIZEOF_WCHAR_T|SIZEOF_PTHREAD[A-Z_]*|HAVE_UNISTD_H|HAVE_DLFCN_H|HAVE_LANGINFO_H|HAVE_SIGNAL_H|HAVE_TERMIOS_H|HAVE_NETDB_H|HAVE_GRP_H|HAVE_PWD_H|HAVE_POLL_H)\b' \
      "$PYINC/pyconfig.h" | awk '{ l[NR] = $0; if ($0 ~ /^#endif/) e = NR }
        END { if (!e) print "#error check_windows.sh: unexpected pyconfig.h layout"; for (i = 1; i <= NR; i++) if (i != e) print l[i] }' \
      >"$WORK/python/pyconfig.h"
    cat >>"$WORK/python/pyconfig.h" <<'EOF'
#define HAVE_SYS_TYPES_H 1
#define HAVE_SYS_STAT_H 1
#define SIZEOF_LONG 4
#define ALIGNOF_LONG 4
#define SIZEOF_WCHAR_T 2
#define SIZEOF_LONG_DOUBLE 16
#define NT_THREADS 1
#endif
EOF
    for s in "${BIND_SRCS[@]}"; do
      echo "  $s"
      log="$WORK/log/bindings.$(basename "$s").log"
      # no -Wpedantic: pybind11's own PYBIND11_MODULE expansion trips it in C++17
      "$CXX" -std=c++17 -Wall -Wextra -DNDEBUG -Icsrc -I"$PBINC" -I"$WORK/python" -fsyntax-only "$s" >"$log" 2>&1
      rc=$?
      if [ $rc -ne 0 ] && ! grep -qE '^csrc/[^:]+:[0-9]+:([0-9]+:)? (fatal error|error):' "$log"; then
        echo "  note: $s fails only inside Python/pybind11 headers (this pass's patched pyconfig.h); not counted"
        grep -E '(fatal error|error):' "$log" | head -3 | sed 's/^/    /'
        rc=0
        grep -E '^csrc/' "$log" >"$log.own"
        log="$log.own"
      fi
      helper diag "$PROBLEMS" "bindings" "$log" "$rc" "$WERROR"
    done
  else
    echo "[bindings] skipped: $PY has no pybind11 or Python headers"
  fi
fi

# ----------------------------------------------------------------------------- report
echo
echo "==================== problems (grouped by file) ===================="
helper report "$PROBLEMS" "$REACHED" "$ROOT"
status=$?
[ $status -ne 0 ] && echo "FAILED: fix the errors above (tags: pass[:ISA level])." || echo "OK: no Windows portability problem found."
exit $status
