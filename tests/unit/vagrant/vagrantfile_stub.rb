# Evaluates a Vagrantfile with a stand-in for Vagrant that records every setting,
# then prints them as JSON: {"path.setting": value, ...} (tests only; no Vagrant needed).
require "json"

class Recorder
  def initialize(path, log)
    @path, @log, @vals = path, log, {}
  end

  def method_missing(name, *args, **kw, &blk)
    n = name.to_s
    if n.end_with?("=")
      @vals[n.chomp("=")] = args[0]
      @log["#{@path}.#{n.chomp("=")}"] = args[0]
      return args[0]
    end
    key = args.empty? ? "#{@path}.#{n}" : "#{@path}.#{n}(#{args.first})"
    if blk
      child = Recorder.new(key, @log)
      blk.call(child, Recorder.new("#{key}.override", @log))   # |provider, override| blocks
      return child
    end
    return @vals[n] if args.empty? && kw.empty? && @vals.key?(n)
    @log[key] = kw.empty? ? args[1..] : kw unless args.empty? && kw.empty?
    Recorder.new(key, @log)
  end

  def respond_to_missing?(*) = true
end

module Vagrant
  LOG = {}
  def self.configure(_version)
    yield Recorder.new("config", LOG)
  end
end

load ARGV[0]
puts JSON.generate(Vagrant::LOG)
