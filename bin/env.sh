# Sourced by the project's scripts: installs the Debian packages the build needs (when missing) and selects
# Temurin 25 (Helidon 4.5 and Java 21+ APIs) through JAVA_HOME.
set -euo pipefail

AFF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export AFF_ROOT

aff_apt_packages=(cmake g++ make maven zlib1g-dev libfaiss-dev libopenblas0-openmp libgtest-dev
  nlohmann-json3-dev dataset-fashion-mnist chromium)

aff_install_packages() {
  local missing=()
  for p in "${aff_apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
  fi
}

aff_select_java() {
  local jdk
  for jdk in "${AFF_JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25*; do
    if [ -n "$jdk" ] && [ -x "$jdk/bin/java" ]; then
      export JAVA_HOME="$jdk"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
  done
  echo "error: Temurin 25 not found under /usr/lib/jvm (set AFF_JAVA_HOME to a JDK 21+)" >&2
  return 1
}

# The TF.js tools (tools/tfjs: the pretrained models inside nsfwjs, and TF.js as the import's reference), pinned by
# their package-lock.json; Node.js comes from Debian when the machine has none.
aff_install_node_tools() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >&2
  fi
  if [ ! -f "$AFF_ROOT/tools/tfjs/node_modules/.package-lock.json" ] ||
     [ "$AFF_ROOT/tools/tfjs/package-lock.json" -nt "$AFF_ROOT/tools/tfjs/node_modules/.package-lock.json" ]; then
    echo "installing the TF.js tools (npm ci)" >&2
    (cd "$AFF_ROOT/tools/tfjs" && npm ci --no-audit --no-fund --loglevel=error >&2)
  fi
}

aff_install_packages
aff_select_java
aff_install_node_tools
# LibTorch/FAISS/OpenBLAS share OpenMP; idle OpenMP threads must not spin while the JVM works.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
