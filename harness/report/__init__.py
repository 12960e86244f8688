"""Reports: the campaign summary (JSON and text), JUnit XML, and ``wirefault show``'s
timeline, HTML sequence diagram and pcap. Import the submodule you need; this
package imports nothing so that ``show`` stays light.
"""
